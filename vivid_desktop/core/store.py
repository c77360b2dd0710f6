"""The project folder ``NAME.vivid/`` on disk: atomic saves, upgrades, backups, masks, renders.

Layout::

    NAME.vivid/project.json            {"schema": "Project.1", ...}
    NAME.vivid/masks/<edit>/{frame:06d}.png        keyframe masks (grey, 255 = edit)
    NAME.vivid/masks/<edit>/track/{frame:06d}.png  tracked masks
    NAME.vivid/keyframes/<edit>/{frame:06d}.png    edited keyframes (RGB)
    NAME.vivid/renders/<render>/{frame:06d}.png    rendered frames (lossless); inputs/ = the plan's masks
    NAME.vivid/cache/                  frame index, proxy, thumbnails, flow (may be deleted at any time)
    NAME.vivid/backups/                a ring of project.json snapshots

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
    plan = render.render_plan()                        # send it to the runtime; it writes renders/<id>/
    store.project.set_render_status(render.id, "running", frames_done=10)
    store.final_layers(40)                             # rendered files composed at 40 ([] = source)
    store.final_frame_path(40)                         # the topmost of them, or None = source frame
    store = open_project("clip.vivid")                 # upgrades old files, refuses newer ones
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
from pydantic import ValidationError

import vivid_desktop
from vivid_desktop.core.autosave import Autosaver
from vivid_desktop.core.events import EmitterGroup
from vivid_desktop.core.files import (
    FileError,
    find_by_fingerprint,
    fingerprint,
    read_png,
    remove_stale_temps,
    write_atomic,
    write_png,
)
from vivid_desktop.core.mask_cache import MaskCache
from vivid_desktop.core.masks import BBox
from vivid_desktop.core.project import (
    SCHEMA,
    MaskTrack,
    Project,
    ProjectError,
    Render,
    SourceClip,
    keyframe_image_name,
    mask_name,
    new_id,
)
from vivid_desktop.core.render_plan import (
    build_keyframe_request,
    build_render_plan,
    build_track_request,
    final_frame_path,
    final_layers,
)
from vivid_desktop.core.schema import UPGRADERS, upgrade
from vivid_desktop.core.timebase import TimecodeError, parse_rate
from vivid_desktop.protocol.jobs import EditKeyframeRequest, TrackMasksRequest
from vivid_desktop.render_folder import done_frames, frame_name, nearest

__all__ = [
    "SCHEMA",
    "UPGRADERS",
    "Autosaver",
    "ProjectError",
    "ProjectStore",
    "create_project",
    "fingerprint",
    "open_project",
    "upgrade",
]

PROJECT_FILE = "project.json"
SUFFIX = ".vivid"


class ProjectStore:
    """A project and its folder. Thread-safe ``save()`` (the autosaver calls it from its thread)."""

    def __init__(self, folder: str | os.PathLike[str], project: Project) -> None:
        self.folder = Path(folder).absolute()
        self.project = project
        self.events = EmitterGroup(source=self, names=("mask_changed", "saved", "save_failed"))
        #: make a backup on save when the newest one is older than this (seconds); 0 = every save
        self.backup_interval_s = 300.0
        self._save_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._changes = 0
        self._saved_changes = -1
        self._last_backup = 0.0
        self._masks = MaskCache()  # painted pixels until saved, and recently read masks
        project.events.connect(self._on_change)

    # ------------------------------------------------------------------ paths
    @property
    def project_file(self) -> Path:
        return self.folder / PROJECT_FILE

    @property
    def backups_dir(self) -> Path:
        return self.folder / "backups"

    def path(self, name: str) -> Path:
        """A file named in the model (relative, ``/``-separated) → its absolute path."""
        return self.folder.joinpath(*name.split("/"))

    def cache_dir(self, *parts: str) -> Path:
        """A folder under ``cache/`` (created); for the frame index, proxy, thumbnails and flow."""
        d = self.folder.joinpath("cache", *parts)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def render_dir(self, render_id: str) -> Path:
        return self.folder / "renders" / render_id

    def render_frame_path(self, render_id: str, frame: int) -> Path:
        return self.render_dir(render_id) / frame_name(frame)

    def track_dir(self, edit_id: str) -> Path:
        """Where mask tracking writes ``{frame:06d}.png`` for an edit."""
        return self.folder / "masks" / edit_id / "track"

    # ------------------------------------------------------------ dirty state
    def _on_change(self, _event: object) -> None:
        with self._state_lock:
            self._changes += 1

    @property
    def dirty(self) -> bool:
        """True when something changed since the last save."""
        with self._state_lock:
            return self._changes != self._saved_changes or self._masks.has_dirty

    # ------------------------------------------------------------------- save
    def save(self, backup: bool | None = None) -> None:
        """Write dirty masks, then ``project.json`` atomically and durably; keep a ring of backups.

        ``backup=None`` makes a backup when the newest is older than ``backup_interval_s``.
        """
        with self._save_lock:
            try:
                self._flush_masks()
                with self.project.lock, self._state_lock:
                    self.project.written_by = f"vivid-desktop {vivid_desktop.__version__}"
                    text = self.project.to_json()
                    changes = self._changes
                write_atomic(self.project_file, text.encode())
                if backup or (
                    backup is None and time.monotonic() - self._last_backup >= self.backup_interval_s
                ):
                    self._write_backup(text)
            except OSError as exc:
                self.events.save_failed(value=str(exc))
                raise ProjectError(f"could not save the project in {self.folder}: {exc}") from exc
            with self._state_lock:
                self._saved_changes = changes
        self.events.saved(value=self.project_file)

    def _flush_masks(self) -> None:
        todo = self._masks.take_dirty()
        try:
            for (edit_id, frame), mask in todo:
                write_png(self.mask_path(edit_id, frame), mask)
        except BaseException:
            self._masks.return_dirty(todo)  # try again on the next save
            raise

    def _write_backup(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        write_atomic(self.backups_dir / f"project-{stamp}.json", text.encode(), durable=False)
        self._last_backup = time.monotonic()
        keep = self.project.settings.backups
        for old in self.backups()[keep:] if keep else self.backups():
            with contextlib.suppress(OSError):
                old.unlink()

    def backups(self) -> list[Path]:
        """Backups of ``project.json``, newest first."""
        if not self.backups_dir.is_dir():
            return []
        return sorted(self.backups_dir.glob("project-*.json"), reverse=True)

    def autosaver(self, delay_s: float = 1.0, max_delay_s: float = 2.5) -> Autosaver:
        """A started ``Autosaver`` for this store (call ``stop()`` when closing)."""
        return Autosaver(self, delay_s=delay_s, max_delay_s=max_delay_s).start()

    # ------------------------------------------------------------------ masks
    def mask_path(self, edit_id: str, frame: int) -> Path:
        """The mask file of a keyframe (the conventional name when there is no such keyframe or edit)."""
        edit = next((e for e in self.project.edits if e.id == edit_id), None)
        kf = edit.keyframe(frame) if edit is not None else None
        return self.path(kf.mask if kf else mask_name(edit_id, frame))

    def blank_mask(self) -> np.ndarray:
        return np.zeros((self.project.source.height, self.project.source.width), np.uint8)

    def read_mask(self, edit_id: str, frame: int) -> np.ndarray:
        """The keyframe's mask (the painted pixels even before a save); blank when there is no file."""
        cached = self._masks.get((edit_id, frame))
        if cached is not None:
            return cached
        path = self.mask_path(edit_id, frame)
        try:
            mask = read_png(path, grey=True) if path.exists() else self.blank_mask()
        except FileError as exc:
            raise ProjectError(str(exc)) from exc
        self._masks.put((edit_id, frame), mask, dirty=False)
        return mask

    def set_mask(self, edit_id: str, frame: int, mask: np.ndarray, box: BBox | None = None) -> None:
        """Replace a keyframe's mask pixels; written on the next save. Emits ``mask_changed`` with the
        changed ``box`` as value (None = anywhere)."""
        self._check_mask(mask)
        self._masks.put((edit_id, frame), mask)
        if self.project.edit(edit_id).keyframe(frame) is not None:
            self.project.mask_painted(edit_id, frame)
        self.events.mask_changed(edit_id=edit_id, frame=frame, value=box)

    def _check_mask(self, mask: np.ndarray) -> None:
        src = self.project.source
        if mask.shape != (src.height, src.width) or mask.dtype != np.uint8:
            raise ProjectError(
                f"a mask must be uint8 {src.height}×{src.width}, not {mask.dtype} {mask.shape}"
            )

    def frame_mask(self, edit_id: str, frame: int) -> np.ndarray | None:
        """The mask an edit uses at any frame: the keyframe's, else the tracked one, else the nearest
        keyframe's (what the runtime does too); None when the edit has no mask at all."""
        edit = self.project.edit(edit_id)
        if edit.keyframe(frame) is not None:
            return self.read_mask(edit_id, frame)
        tracked = self.track_dir(edit_id) / frame_name(frame)
        if edit.mask_track is not None and tracked.is_file():
            return read_png(tracked, grey=True)
        if not edit.keyframes:
            return None
        return self.read_mask(edit_id, nearest(sorted(k.frame for k in edit.keyframes), frame))

    def patch_mask(self, edit_id: str, frame: int, box: BBox, pixels: np.ndarray) -> None:
        """Write ``pixels`` into the box of a keyframe's mask (used by undo of mask edits)."""
        mask = self.read_mask(edit_id, frame)
        mask[box.slices] = pixels
        self.set_mask(edit_id, frame, mask, box=box)

    def add_keyframe(self, edit_id: str, frame: int, mask: np.ndarray | None = None) -> None:
        """Add a keyframe with ``mask`` (blank by default); the PNG is written on the next save."""
        mask = self.blank_mask() if mask is None else mask
        self._check_mask(mask)
        self.project.add_keyframe(edit_id, frame)
        self.set_mask(edit_id, frame, mask)

    # ------------------------------------------------------ keyframe images
    def read_keyframe_image(self, edit_id: str, frame: int) -> np.ndarray | None:
        kf = self.project.keyframe(edit_id, frame)
        return read_png(self.path(kf.image), grey=False) if kf.image else None

    def write_keyframe_image(self, edit_id: str, frame: int, image: np.ndarray) -> Path:
        """Store an edited keyframe (RGB, the source size) and point the keyframe at it."""
        src = self.project.source
        if image.shape != (src.height, src.width, 3):
            raise ProjectError(f"an edited keyframe must be {src.width}×{src.height} RGB, not {image.shape}")
        name = keyframe_image_name(edit_id, frame)
        write_png(self.path(name), image)
        self.project.set_keyframe_image(edit_id, frame, name)
        return self.path(name)

    def import_keyframe_image(self, edit_id: str, frame: int, file: str | os.PathLike[str]) -> Path:
        """Read an image an external editor saved and store it as the keyframe's edited image."""
        try:
            return self.write_keyframe_image(edit_id, frame, read_png(file, grey=False))
        except FileError as exc:
            raise ProjectError(str(exc)) from exc

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
        """Forget a render and delete its folder (not undoable: renders are results, not edits)."""
        self.project.remove_render(render_id)
        shutil.rmtree(self.render_dir(render_id), ignore_errors=True)

    def rendered_frames(self, render_id: str) -> list[int]:
        """Frame numbers whose finished file is in the render folder (the folder is the truth)."""
        return done_frames(self.render_dir(render_id))

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
    """Make a new project folder for ``source_path`` (its media facts come from ``media.probe``)."""
    folder = Path(folder).absolute()
    if (folder / PROJECT_FILE).exists():
        raise ProjectError(f"{folder} already holds a project; open it instead")
    source_path = Path(source_path).absolute()
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
    project = Project(name=name or stem, source=source)
    for sub in ("masks", "keyframes", "renders", "cache", "backups"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    store = ProjectStore(folder, project)
    store.save(backup=False)
    return store


def open_project(folder: str | os.PathLike[str]) -> ProjectStore:
    """Open a project folder (or its ``project.json``); upgrade an old format, refuse a newer one."""
    folder, project, old_schema = _read_project(folder)
    path = folder / PROJECT_FILE
    if old_schema != SCHEMA:  # keep the file as it was before its first save in the new format
        (folder / "backups").mkdir(exist_ok=True)
        shutil.copy2(path, folder / "backups" / f"before-upgrade-from-{old_schema}.json")
    remove_stale_temps(folder)
    for edit in project.edits:  # a render that was running when the app stopped is not running now
        for render in edit.renders:
            if render.status == "running":
                render.status, render.message = "cancelled", "interrupted; resume to finish it"
    return ProjectStore(folder, project)


def read_project(folder: str | os.PathLike[str]) -> tuple[Path, Project]:
    """The project folder and its project, read without writing or removing anything in the folder.

    For readers that must not disturb an editor that has the project open (the trainer, the trainer tab).
    """
    folder, project, _ = _read_project(folder)
    return folder, project


def _read_project(folder: str | os.PathLike[str]) -> tuple[Path, Project, object]:
    """Folder, project (upgraded) and the file's original schema; :class:`ProjectError` when unreadable."""
    folder = Path(folder).absolute()
    if folder.name == PROJECT_FILE:
        folder = folder.parent
    elif not (folder / PROJECT_FILE).exists() and (folder.parent / (folder.name + SUFFIX)).is_dir():
        folder = folder.parent / (folder.name + SUFFIX)  # "clip" for "clip.vivid"
    path = folder / PROJECT_FILE
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError as exc:
        raise ProjectError(f"{folder} is not a VIVID project (no {PROJECT_FILE})") from exc
    except (OSError, ValueError) as exc:
        hint = _backup_hint(folder)
        raise ProjectError(f"{path} cannot be read ({exc}).{hint}") from exc
    if not isinstance(data, dict):
        raise ProjectError(f"{path} is not a VIVID project file")
    old_schema = data.get("schema")
    try:
        project = Project.model_validate(upgrade(data))
    except ValidationError as exc:
        raise ProjectError(f"{path} is damaged: {_first_error(exc)}.{_backup_hint(folder)}") from exc
    return folder, project, old_schema


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}"


def _backup_hint(folder: Path) -> str:
    backups = sorted((folder / "backups").glob("project-*.json"), reverse=True)
    return f" The newest backup is {backups[0]}." if backups else ""
