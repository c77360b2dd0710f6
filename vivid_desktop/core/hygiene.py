"""Project hygiene: the backups with their times, reverting to one, disk use, cleaning what can go.

Renders are results, not edits: a render whose every frame file also exists in a newer render of the
same edit is never shown or exported (the newest render wins where they overlap), so it can be deleted.
Caches (optical flow, keyframe previews already imported, the image-editor exchange files) are rebuilt
when needed; the frame index and the scrubbing proxy are kept (the open clip reads them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vivid_desktop.core.files import write_atomic
from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.store import ProjectStore

#: cache folders (under the project) that may be deleted while the project is open
CLEANABLE_CACHES = ("cache/flow", "cache/previews", "exchange")
#: the parts of a project folder the disk-use view lists
PARTS = ("renders", "cache", "masks", "keyframes", "backups", "exchange")


@dataclass(frozen=True)
class Backup:
    path: Path
    saved: datetime  # local time of the file's last write
    size: int


def backups(store: ProjectStore) -> list[Backup]:
    """The project's backups, newest first, with when each was written."""
    out = []
    for path in store.backups():
        try:
            st = path.stat()
        except OSError:
            continue
        out.append(Backup(path, datetime.fromtimestamp(st.st_mtime, UTC).astimezone(), st.st_size))
    return out


def revert_to_backup(store: ProjectStore, backup: Path) -> Path:
    """Make ``backup`` the project file (the project must be closed, ``store`` is only its folder).

    The backup must be one of this project's (a path is never trusted), and the current project file
    is kept as ``backups/project-before-revert-….json``, so a revert can itself be reverted. Masks,
    edited keyframes and renders on disk stay as they are. Returns the kept copy.
    """
    folder = store.backups_dir.resolve()
    chosen = Path(backup).resolve()
    if chosen.parent != folder or not chosen.is_file():
        raise ProjectError(f"{backup} is not a backup of this project")
    text = chosen.read_bytes()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    kept = store.backups_dir / f"project-before-revert-{stamp}.json"
    shutil.copy2(store.project_file, kept)
    write_atomic(store.project_file, text)
    return kept


def folder_size(path: Path) -> int:
    """Bytes of the files under ``path`` (0 when it is missing); links are not followed."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed while walking
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def disk_use(store: ProjectStore) -> dict[str, int]:
    """Worker thread: bytes per part of the project folder (``PARTS``) and ``"total"``."""
    sizes = {part: folder_size(store.folder / part) for part in PARTS}
    sizes["total"] = folder_size(store.folder)
    return sizes


def superseded_renders(store: ProjectStore) -> list[str]:
    """Render ids whose every frame file also exists in a newer render of the same edit (never shown
    or exported); renders still running are kept."""
    out = []
    with store.project.lock:
        per_edit = [[(r.id, r.status) for r in edit.renders] for edit in store.project.edits]
    for renders in per_edit:
        newer: set[int] = set()
        for render_id, status in reversed(renders):
            frames = set(store.rendered_frames(render_id))
            if status != "running" and frames <= newer:
                out.append(render_id)
            newer |= frames
    return out


def clean(store: ProjectStore, renders: bool = True, caches: bool = True) -> int:
    """Delete superseded renders and the cleanable caches; returns the bytes freed."""
    freed = 0
    if renders:
        for render_id in superseded_renders(store):
            freed += folder_size(store.render_dir(render_id))
            store.delete_render(render_id)
    if caches:
        for part in CLEANABLE_CACHES:
            path = store.folder / part
            freed += folder_size(path)
            shutil.rmtree(path, ignore_errors=True)
    return freed


def human_size(n: float) -> str:
    """``538_000_000`` → ``"538.0 MB"`` (decimal units, as file managers show them)."""
    for unit in ("bytes", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
