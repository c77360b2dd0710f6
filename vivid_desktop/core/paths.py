"""What a name in ``project.json`` may be, and the one check that a derived path stays in the project.

``project.json`` is never trusted: a shared or crafted project could name ``../outside/x`` as a mask or
an absolute path as an edit id. Every id (edits, renders) matches one allow-list pattern, every file
name is relative without ``..``, and every path built from them goes through :func:`inside`, which
resolves links and refuses anything that lands outside the project folder.

Usage::

    check_id("a1b2c3d4e5", "edit id")          # returns it, or ProjectError naming the problem
    check_name("masks/a1b2/000012.png", "mask")  # relative, "/"-separated, no "..", no drive
    path = inside(folder, "masks", edit_id, "000012.png")   # ProjectError when it would leave folder
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from vivid_desktop.core.project import ProjectError

#: Ids of edits and renders: what ``new_id`` makes, with room for hand-written ones.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: One part of a relative file name (no leading dot: hidden names are ours, e.g. temp files).
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def is_id(value: object) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def check_id(value: object, what: str) -> str:
    """``value`` when it is a valid id; otherwise a :class:`ProjectError` saying what is wrong."""
    if not is_id(value):
        raise ProjectError(f"{what} {_show(value)} is not a valid id (letters, digits, '-' and '_' only)")
    return str(value)


def name_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable relative file name in a project, or None when it is."""
    if not isinstance(value, str) or not value:
        return "is empty"
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).drive or value.startswith("\\"):
        return "is an absolute path"
    parts = value.split("/")
    if ".." in parts:
        return "contains '..'"
    if any(not _PART.fullmatch(p) for p in parts):
        return "has a part that is empty, hidden or uses characters other than letters, digits, '.-_'"
    return None


def check_name(value: object, what: str) -> str:
    """``value`` when it is a relative name inside the project (see :func:`name_problem`)."""
    problem = name_problem(value)
    if problem is not None:
        raise ProjectError(f"{what} {_show(value)} {problem}")
    return str(value)


def inside(folder: Path, *parts: str) -> Path:
    """``folder/parts…`` after checking that it resolves (links followed) to a place inside ``folder``.

    Returns the joined, unresolved path. :class:`ProjectError` when it leads outside, or when a link
    loop makes it unresolvable.
    """
    path = folder.joinpath(*parts)
    try:
        root = folder.resolve()
        real = path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ProjectError(f"{path} cannot be resolved (a link loop?): {exc}") from exc
    if real != root and not real.is_relative_to(root):
        rel = "/".join(parts) or str(path)
        raise ProjectError(f"{rel} leads outside the project folder (to {real})")
    return path


def is_link(path: Path) -> bool:
    """True for a symbolic link: never written or deleted through."""
    try:
        return path.is_symlink()
    except OSError:
        return False


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"
