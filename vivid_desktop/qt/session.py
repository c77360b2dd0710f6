"""The editor session: the open project plus view state (playhead, selected edit), as Qt signals.

Domain state lives in ``vivid_desktop.core`` (``ProjectStore``, ``Project``, ``MaskPainter``,
``UndoLog``); the session owns those objects for the open project, forwards their change events as
Qt signals on the UI thread, and offers the intents views call (seek, select, mark in/out). Widgets
hold no domain state: they render what the session tells them.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from vivid_desktop.core.painter import MaskPainter
from vivid_desktop.core.project import Edit, Engine, Project, ProjectError
from vivid_desktop.core.project_events import (
    EditAdded,
    EditRemoved,
    KeyframeAdded,
    KeyframeRemoved,
    ProjectEvent,
)
from vivid_desktop.core.store import Autosaver, ProjectStore, create_project, open_project
from vivid_desktop.core.undo import ProjectRecorder, UndoLog
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.probe import probe
from vivid_desktop.protocol.jobs import Task
from vivid_desktop.qt.frames import FrameService
from vivid_desktop.qt.settings import data_dir
from vivid_desktop.qt.workers import MainThreadRelay, WorkerPool

log = logging.getLogger(__name__)

PROJECT_SUFFIX = ".vivid"


def is_project(path: Path) -> bool:
    return (path / "project.json").is_file() or (path.name == "project.json" and path.is_file())


def project_folder_for(clip: Path) -> Path:
    """Where a new project for ``clip`` goes: ``<clip>.vivid`` beside it, else in the user data folder."""
    for parent in (clip.parent, data_dir() / "projects"):
        try:
            parent.mkdir(parents=True, exist_ok=True)
            probe_file = parent / f".vivid-write-test-{clip.stem}"
            probe_file.touch()
            probe_file.unlink()
        except OSError:
            continue
        return parent / f"{clip.stem}{PROJECT_SUFFIX}"
    raise ProjectError(f"no folder to keep the project of {clip.name} in is writable")


def open_or_create(path: Path) -> ProjectStore:
    """Open a project folder, or make (or reopen) the project of a clip. Runs in a worker thread."""
    path = path.absolute()
    if is_project(path):
        return open_project(path)
    if not path.is_file():
        raise ProjectError(f"{path} does not exist")
    folder = project_folder_for(path)
    if is_project(folder):
        store = open_project(folder)
        if Path(store.project.source.path) == path and not store.source_missing():
            return store  # the clip's project from an earlier session: keep the work
        folder = _free_name(folder)
    info = probe(path)
    return create_project(
        folder, path, width=info.width, height=info.height, rate=info.rate, frame_count=info.frame_count
    )


def _free_name(folder: Path) -> Path:
    for i in range(2, 1000):
        candidate = folder.with_name(f"{folder.stem}-{i}{PROJECT_SUFFIX}")
        if not candidate.exists():
            return candidate
    raise ProjectError(f"too many projects named {folder.stem}")


class EditorSession(QObject):
    """See the module docstring. ``store`` is None while no project is open."""

    opening = Signal(str)  # a path is being opened
    opened = Signal()
    closed = Signal()
    frameChanged = Signal(int)
    projectEvent = Signal(object)  # a core ProjectEvent (edit/keyframe/render changes …)
    editSelected = Signal(object)  # edit id or None
    maskChanged = Signal(object)  # the painter's mask changed: BBox or None (= anywhere)
    maskTargetChanged = Signal()
    undoChanged = Signal()
    saved = Signal()
    status = Signal(str)  # a short message for the status bar
    failed = Signal(str, str)  # title, message for a dialog

    def __init__(self, relay: MainThreadRelay, pool: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.relay = relay
        self.pool = pool
        self.frames = FrameService(relay, self)
        self.store: ProjectStore | None = None
        self.undo = UndoLog()
        self.painter: MaskPainter | None = None
        self._recorder: ProjectRecorder | None = None
        self._autosaver: Autosaver | None = None
        self.frame = 0
        self.edit_id: str | None = None
        self.playing = False
        #: the engine of new edits (the window sets it from the settings)
        self.default_engine: str | None = None
        self.undo.events.changed.connect(lambda _ev: self._to_ui(self.undoChanged.emit))

    # ---- facts ----------------------------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        return self.store.project if self.store is not None else None

    @property
    def frame_count(self) -> int:
        return self.store.project.source.frame_count if self.store else 0

    @property
    def rate(self) -> Fraction:
        return Fraction(self.store.project.source.rate) if self.store else Fraction(24)

    @property
    def edit(self) -> Edit | None:
        if self.store is None or self.edit_id is None:
            return None
        try:
            return self.store.project.edit(self.edit_id)
        except ProjectError:
            return None

    def keyframe_frames(self) -> list[int]:
        edit = self.edit
        return [k.frame for k in edit.keyframes] if edit else []

    # ---- opening and closing --------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """Open a clip or a project in the background; ``opened`` or ``failed`` follows."""
        path = Path(path)
        self.opening.emit(str(path))
        self.status.emit(f"Opening {path.name} …")
        self.pool.run(
            open_or_create,
            path,
            on_result=self.adopt,
            on_error=lambda exc: self._open_failed(path, exc),
            name="open",
        )

    def _open_failed(self, path: Path, exc: BaseException) -> None:
        known = isinstance(exc, ProjectError | MediaError | OSError)
        message = str(exc) if known else f"{type(exc).__name__}: {exc}"
        self.status.emit(f"Could not open {path.name}")
        self.failed.emit(f"Cannot open {path.name}", message)

    def adopt(self, store: ProjectStore) -> None:
        """Make ``store`` the open project (UI thread)."""
        self.close_project()
        self.store = store
        self.undo.clear()
        self._recorder = ProjectRecorder(store.project, self.undo)
        self.painter = MaskPainter(store, self.undo)
        self.painter.events.mask_changed.connect(lambda ev: self._to_ui(self.maskChanged.emit, ev.box))
        self.painter.events.target_changed.connect(lambda ev: self._to_ui(self.maskTargetChanged.emit))
        store.project.events.connect(self._on_project_event)
        store.events.saved.connect(lambda _ev: self._to_ui(self.saved.emit))
        store.events.warned.connect(lambda ev: self._to_ui(self.status.emit, ev.message))
        if store.project.settings.autosave and not store.read_only:
            self._autosaver = store.autosaver()
        self.frames.set_result_lookup(store.final_layers)
        self.frames.open(store.project.source.path, store.cache_dir("index"))
        view = store.project.settings.view
        self.frame = max(0, min(int(view.get("frame", 0)), self.frame_count - 1))
        edits = store.project.edits
        self.edit_id = view.get("edit") if any(e.id == view.get("edit") for e in edits) else None
        if self.edit_id is None and edits:
            self.edit_id = edits[-1].id
        self.opened.emit()
        self.editSelected.emit(self.edit_id)
        self.seek(self.frame, force=True)
        self.status.emit(f"Opened {store.project.name}" + (" (read-only)" if store.read_only else ""))
        if store.read_only:  # project.json named things it may not: say which, once
            self.failed.emit(f"{store.project.name} opened read-only", store.read_only_reason)

    def close_project(self) -> None:
        """Save and close the open project (if any)."""
        store = self.store
        if store is None:
            return
        self._remember_view()
        if self._autosaver is not None:
            self._autosaver.stop()
            self._autosaver = None
        try:
            if not store.read_only:
                store.save()
        except ProjectError as exc:
            log.warning("final save failed: %s", exc)
        store.project.events.disconnect(self._on_project_event)
        if self.painter is not None:
            self.painter.close()
            self.painter = None
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        self.frames.close_readers()
        self.store = None
        self.edit_id = None
        self.undo.clear()
        self.closed.emit()

    def _remember_view(self) -> None:
        if self.store is None:
            return
        view = dict(self.store.project.settings.view)
        view.update(frame=self.frame, edit=self.edit_id)
        if view != self.store.project.settings.view:
            self.store.project.set_setting("view", view)

    def save(self) -> None:
        if self.store is None:
            return
        self._remember_view()
        try:
            self.store.save()
            self.undo.mark_clean()
            self.status.emit("Saved")
        except ProjectError as exc:
            self.failed.emit("Could not save", str(exc))

    def shutdown(self) -> None:
        self.close_project()
        self.frames.shutdown()

    # ---- events from the core --------------------------------------------------------------------
    def _to_ui(self, fn, *args) -> None:
        """Call ``fn`` now on the UI thread, or queue it there from any other thread."""
        if QThread.currentThread() is self.thread():
            fn(*args)
        else:
            self.relay.post(fn, *args)

    def _on_project_event(self, ev: ProjectEvent) -> None:
        self._to_ui(self._project_event_ui, ev)

    def _project_event_ui(self, ev: ProjectEvent) -> None:
        if isinstance(ev, EditRemoved) and ev.edit_id == self.edit_id:
            remaining = self.project.edits if self.project else []
            self.select_edit(remaining[-1].id if remaining else None)
        elif isinstance(ev, EditAdded) and not self.undo.applying:
            self.select_edit(ev.edit_id)
        elif isinstance(ev, KeyframeAdded | KeyframeRemoved) and ev.edit_id == self.edit_id:
            # Later, not now: the painter itself may be adding this keyframe in the middle of a commit.
            self.relay.post(self._retarget_painter)
        self.projectEvent.emit(ev)

    # ---- intents --------------------------------------------------------------------------------
    def seek(self, frame: int, scrubbing: bool = False, force: bool = False) -> None:
        """Move the playhead; frames load in the background (proxy while scrubbing)."""
        if self.store is None:
            return
        frame = max(0, min(int(frame), self.frame_count - 1))
        if frame == self.frame and not force:
            return
        self.frame = frame
        self.frames.request(frame, scrubbing=scrubbing or self.playing)
        if not self.playing:
            self._retarget_painter()
        self.frameChanged.emit(frame)

    def set_playing(self, playing: bool) -> None:
        self.playing = playing
        if not playing:
            self._retarget_painter()
            self.frames.request(self.frame, scrubbing=False)

    def select_edit(self, edit_id: str | None) -> None:
        if edit_id == self.edit_id:
            return
        self.edit_id = edit_id
        self._retarget_painter()
        self.editSelected.emit(edit_id)

    def _retarget_painter(self) -> None:
        if self.painter is None:
            return
        if (self.painter.edit_id, self.painter.frame) != (self.edit_id, self.frame) or self.edit_id is None:
            self.painter.set_target(self.edit_id, self.frame if self.edit_id else None)
        else:
            self.painter.set_target(self.edit_id, self.frame)

    def new_edit(self, task: Task = "delete") -> str | None:
        if self.project is None:
            return None
        with self.undo.transaction("Add edit"):
            edit = self.project.add_edit(task=task, engine=_engine_named(self.default_engine))
        self.select_edit(edit.id)
        return edit.id

    def set_mark_in(self) -> None:
        project = self.project
        if project is None or project.source is None:
            return
        src = project.source
        out = src.out_frame if src.out_frame is not None and src.out_frame > self.frame else None
        project.set_range(self.frame, out)

    def set_mark_out(self) -> None:
        project = self.project
        if project is None or project.source is None:
            return
        src = project.source
        start = src.in_frame if src.in_frame <= self.frame else 0
        project.set_range(start, self.frame + 1)

    def clear_marks(self) -> None:
        if self.project is not None:
            self.project.set_range(0, None)

    def marks(self) -> tuple[int | None, int | None]:
        """The in and out marks as frames (out inclusive), None where unset."""
        src = self.project.source if self.project else None
        if src is None:
            return None, None
        return (src.in_frame or None), (src.out_frame - 1 if src.out_frame is not None else None)


def _engine_named(name: str | None) -> Engine | None:
    """The settings' default engine (a string) as an engine name; anything else: the project's default."""
    if name == "flow":
        return "flow"
    if name == "vivid":
        return "vivid"
    return None
