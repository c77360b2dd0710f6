"""The project folder ``NAME.vivid/`` on disk: atomic saves, upgrades, backups, masks, renders.

``ProjectStore`` is made of three parts: :class:`~vivid_desktop.core.layout.ProjectLayout` (where
things live, every path checked to stay in the folder), :class:`~vivid_desktop.core.saving.ProjectSaving`
(save, backups, read-only) and :class:`~vivid_desktop.core.mask_storage.MaskStorage` (masks and keyframe
images); this module adds the source clip and the renders, and creates and opens projects.
``project.json`` is never trusted (:mod:`vivid_desktop.core.loading`): what it may not name is left out
and the store opens read-only, ``store.read_only_reason`` saying why.

Usage (core cannot decode media: the GUI/CLI probes the clip with ``vivid_desktop.media.probe``)::

    store = create_project("clip.vivid", "clip.mp4", width=1920, height=1080, rate=Fraction(30000, 1001),
                           frame_count=300)
    edit = store.project.add_edit(task="delete")
    store.add_keyframe(edit.id, 12)                    # blank mask, written on the next save
    store.set_mask(edit.id, 12, mask)                  # in memory until saved (autosave writes it)
    store.save()
    request = store.prepare_keyframe_preview(edit.id, 12)    # EditKeyframeRequest for the runtime
    store.import_keyframe_image(edit.id, 12, request.output) # the user accepts the preview
    track = store.prepare_track(edit.id)               # TrackMasksRequest; then store.track_done(...)
    render = store.prepare_render(edit.id)             # snapshot of the inputs + RenderPlan; status queued
    plan = store.render_plan(render)                   # send it to the runtime; it writes renders/<id>/
    store.project.set_render_status(render.id, "running", frames_done=10)
    store.final_layers(40)                             # rendered files composed at 40 ([] = source)
    store.final_frame_path(40)                         # the topmost of them, or None = source frame
    store = open_project("clip.vivid")                 # upgrades old files, refuses newer ones
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

from pydantic import ValidationError

from vivid_desktop.core.autosave import Autosaver
from vivid_desktop.core.files import FileError, find_by_fingerprint, fingerprint
from vivid_desktop.core.junk import remove_project_temps
from vivid_desktop.core.layout import PROJECT_FILE, SUBFOLDERS, SUFFIX
from vivid_desktop.core.loading import check_folder, drop_unsafe_entries, read_project_file
from vivid_desktop.core.mask_cache import MaskCache
from vivid_desktop.core.paths import is_link
from vivid_desktop.core.project import SCHEMA, MaskTrack, Project, ProjectError, Render, SourceClip, new_id
from vivid_desktop.core.render_plan import (
    build_keyframe_request,
    build_render_plan,
    build_track_request,
    final_frame_path,
    final_layers,
    stored_plan,
)
from vivid_desktop.core.saving import ProjectSaving
from vivid_desktop.core.schema import UPGRADERS, upgrade
from vivid_desktop.core.store_events import StoreEvents
from vivid_desktop.core.timebase import TimecodeError, parse_rate
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest

__all__ = [
    "PROJECT_FILE",
    "SCHEMA",
    "SUFFIX",
    "UPGRADERS",
    "Autosaver",
    "ProjectError",
    "ProjectStore",
    "create_project",
    "fingerprint",
    "open_project",
    "read_project",
    "upgrade",
]


class ProjectStore(ProjectSaving):
    """A project and its folder. Thread-safe ``save()`` (the autosaver calls it from its thread).

    ``problems``: entries of ``project.json`` that were refused; when any, the store is read-only.
    """

    def __init__(
        self, folder: str | os.PathLike[str], project: Project, problems: list[str] | None = None
    ) -> None:
        super().__init__(folder)
        self.project = project
        self.problems = list(problems or [])
        self.events = StoreEvents()
        self._masks = MaskCache()  # painted pixels until saved, and recently read masks
        self._init_saving()

    # ---------------------------------------------------------------- source
    def relink(self, new_path: str | os.PathLike[str]) -> None:
        """Point the project at a moved source clip; refuses a file whose content differs."""
        new_path = Path(new_path).absolute()
        try:
            fp = fingerprint(new_path)
        except FileError as exc:
            raise ProjectError(str(exc)) from exc
        if fp != self.project.source.fingerprint:
            raise ProjectError(f"{new_path.name} is not the project's source clip (its content differs)")
        self.project.set_source_path(str(new_path), fp)

    def source_missing(self) -> bool:
        return not Path(self.project.source.path).is_file()

    def search_source(self, folders: Iterable[str | os.PathLike[str]] | None = None) -> Path | None:
        """Look for the source clip (same fingerprint) in ``folders`` (default: the project's parent)."""
        roots = [Path(f) for f in folders] if folders is not None else [self.folder.parent]
        return find_by_fingerprint(
            roots, self.project.source.fingerprint, Path(self.project.source.path).name
        )

    # --------------------------------------------------------------- renders
    def prepare_render(self, edit_id: str, start: int | None = None, stop: int | None = None) -> Render:
        """Save, snapshot the edit's inputs under ``renders/<id>/inputs``, and record a queued ``Render``."""
        self.save(backup=False)
        render_id = new_id()
        plan = build_render_plan(self, edit_id, render_id, start, stop)
        render = self.project.add_render(edit_id, plan, render_id=render_id)
        self.save(backup=False)  # the render folder is never orphaned by a crash
        return render

    def render_plan(self, render: Render) -> RenderPlan:
        """The plan to send (or resend, to resume) for ``render``: its paths rebuilt from its id."""
        return stored_plan(self, render, self.project.source.path)

    def prepare_track(
        self, edit_id: str, start: int | None = None, stop: int | None = None
    ) -> TrackMasksRequest:
        """Save the masks and build the mask-tracking request; call ``track_done`` when it succeeds."""
        self.save(backup=False)
        return build_track_request(self, edit_id, start, stop)

    def track_done(self, edit_id: str, start: int, stop: int) -> None:
        """Record that ``track_dir(edit_id)`` now holds current masks for ``[start, stop)``."""
        folder = self.track_dir(edit_id).relative_to(self.folder).as_posix()
        self.project.set_edit_field(edit_id, "mask_track", MaskTrack(folder=folder, start=start, stop=stop))

    def prepare_keyframe_preview(
        self, edit_id: str, frame: int, seed: int | None = None
    ) -> EditKeyframeRequest:
        """Save the masks and build the ``edit_keyframe`` request; ``import_keyframe_image`` accepts it."""
        self.save(backup=False)
        return build_keyframe_request(self, edit_id, frame, seed)

    def delete_render(self, render_id: str) -> None:
        """Forget a render and delete its folder (not undoable: renders are results, not edits).

        A render folder that is a link is unlinked, never deleted through."""
        folder = self.render_dir(render_id)
        self.project.remove_render(render_id)
        if is_link(folder):
            folder.unlink()
        else:
            shutil.rmtree(folder, ignore_errors=True)

    def final_layers(self, frame: int) -> list[Path]:
        """The rendered files composed at ``frame`` (``render_plan.compose_layers``), bottom edit first:
        the newest render of each enabled edit that has it; empty = the source frame."""
        return final_layers(self, frame)

    def final_frame_path(self, frame: int) -> Path | None:
        """The topmost of ``final_layers(frame)`` (the output itself when it is the only layer), or
        None = the source frame."""
        return final_frame_path(self, frame)


def create_project(
    folder: str | os.PathLike[str],
    source_path: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    rate: Fraction | str,
    frame_count: int,
    name: str | None = None,
) -> ProjectStore:
    """Make a new project folder for ``source_path`` (its media facts come from ``media.probe``).

    A failure (a full disk, a name that is not UTF-8) leaves nothing behind."""
    folder = Path(folder).absolute()
    if (folder / PROJECT_FILE).exists():
        raise ProjectError(f"{folder} already holds a project; open it instead")
    source_path = Path(source_path).absolute()
    for what, path in (("clip", source_path), ("project folder", folder)):
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            raise ProjectError(
                f"the {what}'s name {os.fsencode(path).decode('utf-8', 'replace')!r} is not valid UTF-8 "
                "text, which a project cannot record; rename it"
            ) from None
    try:
        fp = fingerprint(source_path)
        source = SourceClip(
            path=str(source_path),
            fingerprint=fp,
            width=width,
            height=height,
            rate=parse_rate(rate),
            frame_count=frame_count,
        )
    except (FileError, ValidationError, TimecodeError) as exc:
        raise ProjectError(f"cannot make a project for {source_path.name}: {exc}") from exc
    stem = folder.name[: -len(SUFFIX)] if folder.name.endswith(SUFFIX) else folder.name
    return _make_folder(folder, Project(name=name or stem, source=source))


def _make_folder(folder: Path, project: Project) -> ProjectStore:
    made = [p for p in (folder, *(folder / s for s in SUBFOLDERS)) if not p.exists()]
    try:
        for sub in SUBFOLDERS:
            (folder / sub).mkdir(parents=True, exist_ok=True)
        store = ProjectStore(folder, project)
        store.save(backup=False)
        return store
    except (OSError, ProjectError) as exc:
        for path in reversed(made):  # only what this call made: never a folder the user had
            shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):
            (folder / PROJECT_FILE).unlink()
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        full = isinstance(cause, OSError) and cause.errno == errno.ENOSPC
        reason = "the disk is full" if full else str(cause)
        raise ProjectError(f"could not create the project {folder.name}: {reason}") from exc


def open_project(folder: str | os.PathLike[str]) -> ProjectStore:
    """Open a project folder (or its ``project.json``); upgrade an old format, refuse a newer one.

    Entries ``project.json`` may not name are left out and the store opens read-only
    (``store.problems``); temp files of interrupted writes are removed (not in a read-only project)."""
    folder, project, old_schema = read_project_file(folder)
    check_folder(folder)
    problems = drop_unsafe_entries(folder, project)
    if not problems:
        if old_schema != SCHEMA:  # keep the file as it was before its first save in the new format
            backups = folder / "backups"
            backups.mkdir(exist_ok=True)
            if not is_link(backups):
                shutil.copy2(folder / PROJECT_FILE, backups / f"before-upgrade-from-{old_schema}.json")
        remove_project_temps(folder)
    for edit in project.edits:  # a render that was running when the app stopped is not running now
        for render in edit.renders:
            if render.status == "running":
                render.status, render.message = "cancelled", "interrupted; resume to finish it"
    return ProjectStore(folder, project, problems)


def read_project(folder: str | os.PathLike[str]) -> tuple[Path, Project]:
    """The project folder and its project, read without writing or removing anything in the folder.

    For readers that must not disturb an editor that has the project open (the trainer, the trainer tab).
    Entries ``project.json`` may not name are left out.
    """
    folder, project, _ = read_project_file(folder)
    check_folder(folder)
    drop_unsafe_entries(folder, project)
    return folder, project
