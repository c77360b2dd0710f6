"""Reading ``project.json`` without trusting it: parse, upgrade, validate, and refuse what it may not name.

Usage (``store.open_project`` and ``store.read_project`` build on these)::

    folder, project, old_schema = read_project_file("clip.vivid")   # ProjectError when unreadable
    check_folder(folder)                  # ProjectError when masks/ (…) is a link leading outside
    problems = drop_unsafe_entries(folder, project)   # one line per entry removed from the model

An entry that names something outside the project folder (a ``..`` or absolute mask name, an id that is
not an id, a setting out of its bounds, a stored render plan that does not validate) is removed from the
in-memory model and listed; the store then opens read-only, so the file is never rewritten without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError

from vivid_desktop.core.layout import CHECKED_FOLDERS, PROJECT_FILE, SUFFIX, ProjectLayout
from vivid_desktop.core.paths import inside, is_id
from vivid_desktop.core.project import Edit, Project, ProjectError, Render
from vivid_desktop.core.render_plan import stored_plan
from vivid_desktop.core.schema import upgrade
from vivid_desktop.protocol.jobs import PATH_SETTINGS, check_settings


def project_folder(folder: str | os.PathLike[str]) -> Path:
    """The project folder meant by ``folder`` (the folder, its ``project.json``, or ``clip`` for
    ``clip.vivid``)."""
    folder = Path(folder).absolute()
    if folder.name == PROJECT_FILE:
        return folder.parent
    if not (folder / PROJECT_FILE).exists() and (folder.parent / (folder.name + SUFFIX)).is_dir():
        return folder.parent / (folder.name + SUFFIX)
    return folder


def read_project_file(folder: str | os.PathLike[str]) -> tuple[Path, Project, object]:
    """Folder, project (upgraded) and the file's original schema; :class:`ProjectError` when unreadable."""
    folder = project_folder(folder)
    path = folder / PROJECT_FILE
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError as exc:
        raise ProjectError(f"{folder} is not a VIVID project (no {PROJECT_FILE})") from exc
    except (OSError, ValueError, RuntimeError) as exc:
        raise ProjectError(f"{path} cannot be read ({exc}).{backup_hint(folder)}") from exc
    if not isinstance(data, dict):
        raise ProjectError(f"{path} is not a VIVID project file")
    old_schema = data.get("schema")
    try:
        project = Project.model_validate(upgrade(data))
    except ValidationError as exc:
        raise ProjectError(f"{path} is damaged: {_first_error(exc)}.{backup_hint(folder)}") from exc
    return folder, project, old_schema


def check_folder(folder: Path) -> None:
    """Refuse a project whose own folders are links leading outside it (writes would land there)."""
    for name in CHECKED_FOLDERS:
        try:
            inside(folder, name)
        except ProjectError as exc:
            raise ProjectError(
                f"cannot open {folder.name}: its {name}/ folder is a link leading outside the project; "
                "VIVID never writes or deletes through such links (make it a real folder)"
            ) from exc


def drop_unsafe_entries(folder: Path, project: Project) -> list[str]:
    """Remove from ``project`` every entry that names a place it may not; one line per entry removed."""
    layout = ProjectLayout(folder)
    problems: list[str] = []
    kept = []
    for i, edit in enumerate(project.edits, 1):
        if not is_id(edit.id):
            problems.append(f"edit {i} has the id {edit.id!r}, which is not a valid id")
            continue
        problems += _check_edit(layout, edit, f"edit {edit.name or edit.id!r}", project.source.path)
        kept.append(edit)
    project.edits[:] = kept
    return problems


def _check_edit(layout: ProjectLayout, edit: Edit, label: str, source: str) -> list[str]:
    problems = []
    try:
        check_settings(edit.settings)
    except ValueError as exc:
        problems.append(f"{label}: {exc}")
        edit.settings = {}
    if any(k in edit.settings for k in PATH_SETTINGS):  # the store chooses its own cache folder
        problems.append(f"{label}: settings name a folder ({', '.join(PATH_SETTINGS)})")
        edit.settings = {k: v for k, v in edit.settings.items() if k not in PATH_SETTINGS}
    for kf in list(edit.keyframes):
        why = _name_problem(layout, kf.mask)
        if why:
            problems.append(f"{label}: the keyframe at frame {kf.frame} has the mask {why}")
            edit.keyframes.remove(kf)
        elif kf.image is not None and (why := _name_problem(layout, kf.image)):
            problems.append(f"{label}: the keyframe at frame {kf.frame} has the image {why}")
            kf.image = None
    if edit.mask_track is not None and (why := _name_problem(layout, edit.mask_track.folder)):
        problems.append(f"{label}: the tracked masks folder {why}")
        edit.mask_track = None
    for render in list(edit.renders):
        why = _render_problem(layout, render, source)
        if why:
            problems.append(f"{label}: render {render.id!r} {why}")
            edit.renders.remove(render)
    return problems


def _name_problem(layout: ProjectLayout, name: str) -> str | None:
    try:
        layout.path(name)
    except ProjectError as exc:
        return str(exc).removeprefix("the file name ")
    return None


def _render_problem(layout: ProjectLayout, render: Render, source: str) -> str | None:
    if not is_id(render.id):
        return "is not a valid id"
    try:
        stored_plan(layout, render, source)
    except ProjectError as exc:
        return f"has a plan that is not valid ({str(exc).split('is not valid: ', 1)[-1]})"
    return None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}"


def backup_hint(folder: Path) -> str:
    try:
        backups = sorted((folder / "backups").glob("project-*.json"), reverse=True)
    except OSError:
        return ""
    return f" The newest backup is {backups[0]}." if backups else ""
