"""The main window: viewer, transport, timeline, mask panel, edits and propagate panels, status bar.

It builds the widgets and controllers and wires them: the session and the controllers emit, the widgets
listen and send intents back. Long work (decode, proxy, thumbnails, flow, encode) never runs here.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QColor, QDesktopServices, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDockWidget,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSlider,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.project_events import (
    KEYFRAME_EVENTS,
    EditAdded,
    EditChanged,
    EditRemoved,
    KeyframeChanged,
    ProjectEvent,
    RangeChanged,
    RenderAdded,
    RenderRemoved,
)
from vivid_desktop.core.results import viewer_layers
from vivid_desktop.core.timebase import frames_to_timecode
from vivid_desktop.qt.audio import QtAudioPlayer
from vivid_desktop.qt.demo import create_demo_project
from vivid_desktop.qt.edits_panel import QtEditsPanel
from vivid_desktop.qt.errors import SlotErrors
from vivid_desktop.qt.frames import DisplayFrame
from vivid_desktop.qt.keyframes import KeyframeController
from vivid_desktop.qt.mask_import import MaskImporter
from vivid_desktop.qt.mask_tools import MaskTools
from vivid_desktop.qt.media_jobs import start_media_jobs
from vivid_desktop.qt.menus import build_menus
from vivid_desktop.qt.painter import TOOLS, QtMaskPanel
from vivid_desktop.qt.propagate import PropagateController
from vivid_desktop.qt.propagate_panel import QtPropagatePanel
from vivid_desktop.qt.recovery import SessionMarker
from vivid_desktop.qt.runtime_bridge import QtRuntime
from vivid_desktop.qt.runtime_settings import runtime_spec as remote_runtime_spec
from vivid_desktop.qt.session import EditorSession
from vivid_desktop.qt.settings import AppSettings
from vivid_desktop.qt.style import icon
from vivid_desktop.qt.timeline import QtTimeline, QtTimelinePanel
from vivid_desktop.qt.tracking import TrackController
from vivid_desktop.qt.transport import QtTransportBar, Transport
from vivid_desktop.qt.viewer import QtViewer
from vivid_desktop.qt.window_dialogs import WindowDialogs
from vivid_desktop.qt.workers import MainThreadRelay, WorkerPool
from vivid_desktop.qt.workspaces import Workspaces
from vivid_desktop.runtime_client import LaunchSpec

log = logging.getLogger(__name__)

#: what the working preview during a render is, per engine
ENGINE_PREVIEW = {"vivid": "VIVID · denoising (latent preview)", "flow": "Flow · fill in progress"}


class MainWindow(WindowDialogs):
    """VIVID Desktop's editor window. ``start_runtime()`` after ``show()`` starts the runtime."""

    TOOLS = TOOLS
    recent_menu: QMenu  # made by build_menus (the table names it)
    # Declared here as well as made in __init__: menus.py reads them through the window, and the import
    # cycle (window → menus → window) leaves mypy unable to infer them from the assignments.
    tracker: TrackController
    mask_import: MaskImporter
    propagate: PropagateController
    transport: Transport
    viewer: QtViewer
    transport_bar: QtTransportBar
    timeline: QtTimeline
    edits_panel: QtEditsPanel

    def __init__(self, settings: AppSettings | None = None, runtime_spec: LaunchSpec | None = None) -> None:
        super().__init__()
        self.setWindowTitle("VIVID Desktop")
        self.setWindowIcon(icon("app"))
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self.settings = settings or AppSettings()
        self.actions_by_name: dict[str, QAction] = {}
        self.relay = MainThreadRelay(self)
        self.pool = WorkerPool(self.relay, max_workers=2)
        self.session = EditorSession(self.relay, self.pool, self)
        self.session.default_engine = str(self.settings.get("engine/default") or "flow")
        self.runtime = QtRuntime(self.relay, runtime_spec or remote_runtime_spec(self.settings), self)
        self.tracker = TrackController(self.session, self.runtime, self)
        self.mask_import = MaskImporter(self.session, self)
        self.propagate = PropagateController(self.session, self.runtime, self.settings, self.tracker, self)
        self.keyframes = KeyframeController(self.session, self.runtime, self.settings, self)
        self.marker = SessionMarker()
        self.errors = SlotErrors(self)
        self.errors.install()
        self.errors.raised.connect(self.report_error)
        self.transport = Transport(lambda: self.session.frame, self)
        self.audio = QtAudioPlayer(parent=self)
        self._media_cancel: threading.Event | None = None
        self._closing = False
        self._build_widgets()
        self._build_tools()
        build_menus(self)
        self.actions_by_name["cancel_preview"].setEnabled(False)  # Esc cancels drawings until a preview runs
        self._build_toolbar()
        self._build_status_bar()
        self._wire()
        self._apply_overlay_settings()
        self.actions_by_name["latent_preview"].setChecked(bool(self.settings.get("view/latent_preview")))
        self.actions_by_name["mute"].setChecked(bool(self.settings.get("view/muted")))
        self.audio.set_muted(bool(self.settings.get("view/muted")))
        self._restore_geometry()
        self._refresh_enabled()
        self._keep_keys_for_transport()
        #: how a folder is shown in the file manager (tests replace it)
        self.open_folder = lambda folder: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _keep_keys_for_transport(self) -> None:
        """Clicking a panel button must not take the keyboard: Space, J/K/L and the arrows stay with the
        transport (NLE habit). Text fields keep their keys, since they take focus and accept them."""
        for widget in self.findChildren(QWidget):
            if isinstance(widget, QAbstractButton | QSlider | QComboBox):
                widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            elif isinstance(widget, QScrollArea):
                widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.viewer.setFocus()

    # ---- construction ---------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.viewer = QtViewer()
        self.transport_bar = QtTransportBar(self.transport)
        col.addWidget(self.viewer, 1)
        col.addWidget(self.transport_bar)
        self.workspaces = Workspaces(self, central)
        self.setCentralWidget(self.workspaces.tabs)

        self.timeline_panel = QtTimelinePanel()
        self.timeline = self.timeline_panel.timeline
        self._dock("Timeline", self.timeline_panel, Qt.DockWidgetArea.BottomDockWidgetArea, "timelineDock")

        self.mask_panel = QtMaskPanel()
        self._dock("Mask", self._scrolled(self.mask_panel), Qt.DockWidgetArea.LeftDockWidgetArea, "maskDock")

        self.edits_panel = QtEditsPanel(self.session)
        self.propagate_panel = QtPropagatePanel(self.propagate)
        edits = self._dock(
            "Edits", self._scrolled(self.edits_panel), Qt.DockWidgetArea.RightDockWidgetArea, "editsDock"
        )
        # The Render panel scrolls too: on a 1366×768 screen the two right docks share ~430 px.
        right = Qt.DockWidgetArea.RightDockWidgetArea
        render = self._dock("Render", self._scrolled(self.propagate_panel), right, "renderDock")
        self.splitDockWidget(edits, render, Qt.Orientation.Vertical)
        self.resizeDocks([edits, render], [3, 2], Qt.Orientation.Vertical)

    def _scrolled(self, widget: QWidget) -> QScrollArea:
        area = QScrollArea()
        area.setWidget(widget)
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return area

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        if area == Qt.DockWidgetArea.LeftDockWidgetArea:
            dock.setMinimumWidth(250)
        elif area == Qt.DockWidgetArea.RightDockWidgetArea:
            dock.setMinimumWidth(360)
        return dock

    def _build_tools(self) -> None:
        self.mask_tools = MaskTools(self.session, self.viewer, self.mask_panel, self)
        self.mask_tools.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.mask_import.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.mask_import.imported.connect(self._masks_imported)
        self.tools = self.mask_tools.tools

    def _build_toolbar(self) -> None:
        bar = QToolBar("View")
        bar.setObjectName("viewToolbar")
        bar.setMovable(False)
        a = self.actions_by_name
        for key in ("open", "save", "export"):
            bar.addAction(a[key])
        bar.addSeparator()
        for key in ("undo", "redo"):
            bar.addAction(a[key])
        bar.addSeparator()
        for key in ("zoom_fit", "zoom_100"):
            bar.addAction(a[key])
        bar.addWidget(QLabel("  Compare "))
        self.compare_box = QComboBox()
        self.compare_box.setObjectName("compareBox")
        for mode, label in (
            ("off", "Result"),
            ("wipe", "Wipe"),
            ("side", "Side by side"),
            ("difference", "Difference"),
        ):
            self.compare_box.addItem(label, mode)
        self.compare_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.compare_box.activated.connect(lambda _i: self.set_compare(self.compare_box.currentData()))
        bar.addWidget(self.compare_box)
        bar.addSeparator()
        for key, text in (("track", "Track"), ("preview", "Preview"), ("propagate", "Propagate")):
            button = QToolButton()
            button.setDefaultAction(a[key])
            button.setText(text)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setObjectName(f"toolbar_{key}")
            bar.addWidget(button)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.bg_label = QLabel("")
        self.bg_progress = QProgressBar()
        self.bg_progress.setMaximumWidth(140)
        self.bg_progress.setRange(0, 1000)
        self.bg_progress.setVisible(False)
        self.runtime_label = QLabel("Runtime: not started")
        self.runtime_label.setObjectName("runtimeState")
        self.device_label = QLabel("")
        for w in (self.bg_label, self.bg_progress, self.device_label, self.runtime_label):
            sb.addPermanentWidget(w)

    def _wire(self) -> None:
        s, v, t = self.session, self.viewer, self.timeline
        s.opened.connect(self._on_opened)
        s.closed.connect(self._on_closed)
        s.frameChanged.connect(self._on_frame)
        s.frames.frameLoaded.connect(self._on_frame_loaded)
        s.frames.readerOpened.connect(self.keyframes.load_thumbnails)
        s.frames.failed.connect(lambda msg: self.show_error("Cannot read the clip", msg))
        s.projectEvent.connect(self._on_project_event)
        s.editSelected.connect(self._on_edit_selected)
        s.maskChanged.connect(lambda box: v.set_mask(s.painter.mask if s.painter else None, box))
        s.maskTargetChanged.connect(self._show_mask)
        s.undoChanged.connect(self._refresh_undo)
        s.status.connect(lambda text: self.statusBar().showMessage(text, 5000))
        s.failed.connect(self.show_error)
        s.saved.connect(lambda: self.statusBar().showMessage("Saved", 1500))
        t.seekRequested.connect(lambda n: s.seek(n, scrubbing=True))
        t.scrubFinished.connect(lambda: s.seek(s.frame, force=True))
        self.transport.seekRequested.connect(s.seek)
        self.transport_bar.timecode.invalid.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.transport_bar.timecode.left.connect(self.viewer.setFocus)
        self.transport.speedChanged.connect(lambda speed: s.set_playing(speed != 0))
        self.transport.speedChanged.connect(lambda speed: self.audio.on_speed(speed, s.frame))
        s.frameChanged.connect(self.audio.on_frame)
        self.audio.problem.connect(lambda text: self.statusBar().showMessage(text, 6000))
        mp = self.mask_panel
        mp.toolChosen.connect(self.set_tool)
        mp.brushChanged.connect(self._brush_changed)
        mp.operation.connect(self.mask_operation)
        mp.trackRequested.connect(self.tracker.track)
        mp.trackCancelRequested.connect(self.tracker.cancel)
        mp.overlayChanged.connect(self._overlay_changed)
        mp.showMaskChanged.connect(self._show_mask_toggled)
        self.tracker.stateChanged.connect(mp.show_tracking)
        self.tracker.frameTracked.connect(self._on_frame_tracked)
        self.tracker.finished.connect(lambda _ok: self._refresh_keys())
        self.tracker.measured.connect(lambda n, sec: self.propagate.record_speed("track", n, sec))
        self.propagate.planChanged.connect(lambda windows, rng: t.set_plan([tuple(w) for w in windows], rng))
        self.propagate.frameRendered.connect(t.add_rendered)
        self.propagate.latentPreview.connect(self._show_latent)
        self.propagate.frameRendered.connect(lambda _f, _p: v.set_latent(None))
        self.propagate.finished.connect(self._propagate_finished)
        self.propagate_panel.runRequested.connect(self.run_propagate)
        self.propagate_panel.track_first.toggled.connect(lambda _on: self.propagate_panel.refresh())
        ep = self.edits_panel
        ep.previewRequested.connect(self.keyframes.preview)
        ep.externalRequested.connect(self.keyframes.edit_externally)
        ep.importRequested.connect(self._import_keyframe)
        ep.keyframeActivated.connect(self._keyframe_activated)
        ep.thumbnailsWanted.connect(self.keyframes.load_thumbnails)
        ep.masksDropped.connect(self._masks_dropped_on_edit)
        self.keyframes.thumbnailReady.connect(ep.set_thumbnail)
        self.keyframes.beforeAfter.connect(self._show_before_after)
        self.keyframes.previewState.connect(ep.show_preview_state)
        self.keyframes.previewState.connect(lambda running, _t: self._preview_keys(running))
        self.keyframes.latentPreview.connect(self._show_keyframe_latent)
        self.keyframes.previewProgress.connect(ep.show_preview_progress)
        self.keyframes.previewCancelling.connect(ep.show_preview_cancelling)
        ep.previewCancelRequested.connect(self.keyframes.cancel)
        self.keyframes.imported.connect(lambda _f: s.frames.refresh())
        self.keyframes.exchanged.connect(self._show_exchange)
        self.runtime.stateChanged.connect(self._on_runtime_state)
        self.runtime.ready.connect(lambda _h: self._show_runtime())
        self.runtime.factsReady.connect(lambda _f: self._show_runtime())

    # ---- runtime --------------------------------------------------------------------------------
    def start_runtime(self) -> None:
        """Start the runtime process in the background (call after the window is shown)."""
        self.runtime_label.setText("Runtime: starting …")
        self.runtime.start()

    def restart_runtime(self) -> None:
        self.runtime.stop()
        self.start_runtime()

    def _on_runtime_state(self, state: str, detail: str) -> None:
        self._show_runtime()
        if state == "dead":
            self.show_error(
                "The runtime stopped",
                f"{detail}\n\nRender ▸ Restart the runtime tries again; "
                "your project and rendered frames are safe.",
            )
        elif state == "restarting":
            self.statusBar().showMessage(f"The runtime stopped ({detail}); restarting it …", 8000)

    def _show_runtime(self) -> None:
        rt = self.runtime
        self.runtime_label.setProperty(
            "state", {"busy": "busy", "ready": "ready", "dead": "failed"}.get(rt.state, "starting")
        )
        self.runtime_label.style().unpolish(self.runtime_label)
        self.runtime_label.style().polish(self.runtime_label)
        engines = rt.engines()
        names = ", ".join(f"{n}{'' if e.available else ' (unavailable)'}" for n, e in engines.items())
        self.runtime_label.setText(f"Runtime: {rt.state}" + (f" · {names}" if names else ""))
        self.runtime_label.setToolTip(rt.detail or "")
        facts = rt.facts
        if facts is not None and facts.gpus:
            gpu = facts.gpus[0]
            mem = gpu.get("memory_bytes") or 0
            text = f"{gpu.get('name', 'GPU')}" + (f" · {float(mem) / 2**30:.0f} GB" if mem else "")
            more = f" (+{len(facts.gpus) - 1})" if len(facts.gpus) > 1 else ""
            self.device_label.setText(text + more)
        elif facts is not None:
            self.device_label.setText("CPU" + (f" · torch {facts.torch}" if facts.torch else " · no torch"))

    # ---- opening --------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        self.session.open_path(path)

    def open_demo(self) -> None:
        self.statusBar().showMessage("Making the demo clip …")
        self.pool.run(
            create_demo_project,
            on_result=self.session.adopt,
            on_error=lambda exc: self.show_error("Cannot make the demo", str(exc)),
            name="demo",
        )

    def _add_rendered(self, items: list[tuple[int, QImage | None]]) -> None:
        for frame, image in items:
            self.timeline.add_rendered(frame, image)

    def _masks_imported(self, *_args: object) -> None:
        self._refresh_keys()
        self._on_frame_tracked(self.session.frame)

    def _brush_changed(self, radius: float, hardness: float) -> None:
        if self.session.painter is not None:
            self.session.painter.set_brush(radius, hardness)

    def _propagate_finished(self, _outcome: str) -> None:
        self.viewer.set_latent(None)
        self._refresh_enabled()

    def _keyframe_activated(self, frame: int) -> None:
        self.transport.stop()
        self.session.seek(frame)

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent()
        for path in recent:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_path(p)).setToolTip(path)
        if not recent:
            self.recent_menu.addAction("(nothing yet)").setEnabled(False)

    def _on_opened(self) -> None:
        store = self.session.store
        assert store is not None
        src = store.project.source
        self.setWindowTitle(f"{store.project.name} — VIVID Desktop")
        self.settings.add_recent(store.folder)
        self.marker.mark_open(store.folder)
        self.viewer.set_frame_size(src.width, src.height)
        self.viewer.zoom_fit()
        self.timeline.set_clip(src.frame_count, src.rate)
        self.transport.set_clip(src.frame_count, src.rate)
        self.session.frames.set_result_lookup(self._result_layers)
        self._refresh_marks()
        if self.session.painter is not None:
            self.session.painter.set_brush(
                self.mask_panel.size_slider.value(), self.mask_panel.hard_slider.value() / 100
            )
        self._media_cancel = start_media_jobs(self, store)
        self.workspaces.project_changed()
        self._refresh_enabled()

    def _on_closed(self) -> None:
        if self._media_cancel is not None:
            self._media_cancel.set()
        # The jobs write into the project that just closed: stop them and drop their late events.
        for controller in (self.propagate, self.tracker, self.keyframes):
            controller.abandon()
        self._reset_project_state()
        self.audio.set_audio(None, self.session.rate)
        self.marker.mark_closed()
        self.viewer.set_images(None)
        self.viewer.set_mask(None)
        self.timeline.set_clip(0, self.timeline.rate)
        self.setWindowTitle("VIVID Desktop")
        self._refresh_enabled()

    def _reset_project_state(self) -> None:
        """What the panels and the status bar said about the closed project goes with it."""
        self.propagate_panel.reset()
        self.mask_panel.reset_tracking()
        self.edits_panel.show_preview_state(False, "")
        self.viewer.set_latent(None)
        self.timeline.clear_rendered()
        self.bg_label.setText("")
        self.bg_progress.setVisible(False)
        self.statusBar().clearMessage()

    def _result_layers(self, frame: int) -> list[Path]:
        """Worker thread: the files composed as the viewer's result at ``frame`` (core/results.py)."""
        store = self.session.store
        return [] if store is None else viewer_layers(store, frame, self.session.edit_id)

    # ---- reacting to the session ---------------------------------------------------------------
    def _on_frame(self, frame: int) -> None:
        self.timeline.set_playhead(frame)
        self.transport_bar.show_position(frame, self.session.frame_count, self.session.rate)
        self._update_label()

    def _update_label(self) -> None:
        s = self.session
        if s.store is None:
            self.viewer.set_label("")
            return
        key = " ◆ keyframe" if s.frame in s.keyframe_frames() else ""
        self.viewer.set_label(f"{frames_to_timecode(s.frame, s.rate)}  frame {s.frame}{key}")

    def _on_frame_loaded(self, shown: DisplayFrame) -> None:
        badge = "" if shown.exact else "PROXY"
        if shown.result is not None:
            badge = ("RENDER" if shown.result_path and "renders" in shown.result_path.parts else "EDITED") + (
                f" {badge}" if badge else ""
            )
        self.viewer.set_images(shown.source, shown.result, badge=badge)

    def _on_edit_selected(self, _edit_id) -> None:
        self._refresh_keys()
        self._refresh_rendered()
        self.propagate.preview_plan()
        self.propagate_panel.refresh()
        self._show_mask()
        self._update_label()
        self._refresh_enabled()
        self.session.frames.refresh()

    def _on_project_event(self, ev: ProjectEvent) -> None:
        current = self.session.edit_id
        if isinstance(ev, RangeChanged):
            self._refresh_marks()
            self.propagate.preview_plan()
            self.propagate_panel.refresh()
        elif isinstance(ev, KEYFRAME_EVENTS) and ev.edit_id == current:
            self._refresh_keys()
            self._update_label()
            if isinstance(ev, KeyframeChanged) and ev.field == "image":
                self.session.frames.refresh()
            if not self.propagate.running:
                self.propagate.preview_plan()
        elif isinstance(ev, EditChanged) and ev.edit_id == current:
            self._refresh_keys()
            self.propagate.preview_plan()
            self.propagate_panel.refresh()
        elif isinstance(ev, RenderAdded | RenderRemoved) and ev.edit_id == current:
            self.propagate_panel.refresh()
        elif isinstance(ev, EditRemoved | EditAdded) or (
            isinstance(ev, EditChanged) and ev.field == "enabled"
        ):
            self.session.frames.refresh()

    def _show_before_after(self, frame: int, _before, after) -> None:
        """After a preview (or an import): the keyframe side by side, source and edited, in the viewer."""
        if after is None or self.propagate.running:
            return
        self.transport.stop()
        self.session.seek(frame)
        self.set_compare("side")

    def _refresh_keys(self) -> None:
        edit = self.session.edit
        frames = [k.frame for k in edit.keyframes] if edit is not None else []
        edited = [k.frame for k in edit.keyframes if k.image] if edit is not None else []
        self.timeline.set_keyframes(frames, None, edited)
        track = edit.mask_track if edit is not None else None
        self.timeline.set_track(None if track is None else (track.start, track.stop, track.stale))

    def _refresh_rendered(self) -> None:
        """Show the selected edit's rendered frames (previews load in the background)."""
        self.timeline.clear_rendered()
        store, edit = self.session.store, self.session.edit
        if store is None or edit is None or not edit.renders:
            return
        render_ids = [r.id for r in edit.renders]

        def work():
            frames = sorted({f for rid in render_ids for f in store.rendered_frames(rid)})
            yield [(f, None) for f in frames]
            from vivid_desktop.qt.media_jobs import rendered_previews

            yield from rendered_previews(store, render_ids, frames)

        self.pool.run(
            work,
            on_yield=self._add_rendered,
            name="rendered",
        )

    def _refresh_marks(self) -> None:
        mark_in, mark_out = self.session.marks()
        self.timeline.set_marks(mark_in, mark_out)
        store = self.session.store
        if store is not None:
            src = store.project.source
            self.transport.loop_range = (src.in_frame, src.stop)
            self.transport_bar.show_range(src.in_frame, src.stop, src.frame_count, src.rate)

    def _on_frame_tracked(self, frame: int) -> None:
        if frame == self.session.frame and self.session.painter is not None:
            self.session.painter.set_target(self.session.edit_id, frame)

    def _refresh_undo(self) -> None:
        log_ = self.session.undo
        undo, redo = self.actions_by_name["undo"], self.actions_by_name["redo"]
        undo.setEnabled(log_.can_undo)
        redo.setEnabled(log_.can_redo)
        undo.setText(log_.undo_label)
        redo.setText(log_.redo_label)

    def _refresh_enabled(self) -> None:
        has = self.session.store is not None
        has_edit = self.session.edit is not None
        for key in ("save", "export", "track", "propagate", "preview", "mark_in", "mark_out", "add_keyframe"):
            if key in self.actions_by_name:
                self.actions_by_name[key].setEnabled(
                    has
                    if key in ("save", "export", "mark_in", "mark_out")
                    else has_edit or (has and key == "add_keyframe")
                )
        self.mask_panel.set_enabled_for(has)
        self.propagate_panel.setEnabled(has)
        self._refresh_undo()

    # ---- mask painting (the tools live in MaskTools) --------------------------------------------
    def ensure_mask_target(self) -> bool:
        return self.mask_tools.ensure_target()

    def set_tool(self, name: str) -> None:
        self.mask_tools.set_tool(name)

    def scale_brush(self, factor: float) -> None:
        self.mask_tools.scale_brush(factor)

    def finish_tool(self) -> None:
        self.mask_tools.finish()

    def cancel_tool(self) -> None:
        self.mask_tools.cancel()

    def _preview_keys(self, running: bool) -> None:
        """While a keyframe preview runs, Esc cancels it anywhere in the window (and not a drawing)."""
        self.actions_by_name["cancel_preview"].setEnabled(running)
        self.actions_by_name["cancel_tool"].setEnabled(not running)  # one Esc at a time: no ambiguity
        if not running and not self.propagate.running:
            self.viewer.set_latent(None)  # the preview's working image goes with it (done, cancelled)

    def _show_keyframe_latent(self, frame: int, engine: str, image) -> None:
        """A keyframe preview's latents over the viewer, as a render's (View → Latent preview)."""
        wanted = engine == "vivid" and self.actions_by_name["latent_preview"].isChecked()
        if wanted and self.keyframes.running and not self.propagate.running:
            self.viewer.set_latent(image, f"VIVID · keyframe {frame} denoising (latent preview)")

    def mask_operation(self, op: str) -> None:
        self.mask_tools.operation(op)

    def _show_mask(self) -> None:
        painter = self.session.painter
        self.viewer.set_mask(painter.mask if painter is not None and painter.edit_id else None)

    def _overlay_changed(self, color: QColor, opacity: float, mask_only: bool) -> None:
        self.viewer.set_overlay(color, opacity, mask_only)
        self.actions_by_name["mask_only"].setChecked(mask_only)
        self.settings.set("view/overlay_color", color.name())
        self.settings.set("view/overlay_opacity", opacity)

    def _apply_overlay_settings(self) -> None:
        color = QColor(str(self.settings.get("view/overlay_color")))
        opacity = float(self.settings.get("view/overlay_opacity"))
        self.viewer.set_overlay(color, opacity, False)
        self.mask_panel.set_overlay(color, opacity, False)

    def _show_mask_toggled(self, on: bool) -> None:
        self.viewer.set_show_mask(on)
        self.actions_by_name["show_mask"].setChecked(on)

    def toggle_show_mask(self) -> None:
        on = self.actions_by_name["show_mask"].isChecked()
        self.mask_panel.show_mask.setChecked(on)
        self.viewer.set_show_mask(on)

    def _show_latent(self, image) -> None:
        """The engine's working preview: in the Render panel, labelled by engine; over the viewer (in
        the corner away from the mask) only for the vivid engine's latents, and only when wanted."""
        engine = self.propagate.engine
        caption = ENGINE_PREVIEW.get(engine, f"{engine} · working preview")
        self.propagate_panel.show_latent(image, caption)
        if engine == "vivid" and self.actions_by_name["latent_preview"].isChecked():
            self.viewer.set_latent(image, caption)

    def toggle_latent_preview(self) -> None:
        on = self.actions_by_name["latent_preview"].isChecked()
        self.settings.set("view/latent_preview", on)
        if not on:
            self.viewer.set_latent(None)

    def toggle_mute(self) -> None:
        muted = self.actions_by_name["mute"].isChecked()
        self.audio.set_muted(muted)
        self.settings.set("view/muted", muted)

    def toggle_mask_only(self) -> None:
        on = self.actions_by_name["mask_only"].isChecked()
        color, opacity, _ = self.viewer.overlay
        self.viewer.set_overlay(mask_only=on)
        self.mask_panel.set_overlay(color, opacity, on)

    # ---- other intents --------------------------------------------------------------------------
    def undo(self) -> None:
        self._undo_redo(self.session.undo.undo)

    def redo(self) -> None:
        self._undo_redo(self.session.undo.redo)

    def _undo_redo(self, fn) -> None:
        try:
            fn()
        except ProjectError as exc:
            self.show_error("Cannot undo", str(exc))

    def set_compare(self, mode: str) -> None:
        self.viewer.set_compare(mode)
        self.compare_box.setCurrentIndex(self.compare_box.findData(mode))
        action = self.actions_by_name.get(f"compare_{mode}")
        if action is not None:
            action.setChecked(True)

    def jump_keyframe(self, direction: int) -> None:
        s = self.session
        keys = s.keyframe_frames()
        target = (
            [f for f in keys if f < s.frame][-1:] if direction < 0 else [f for f in keys if f > s.frame][:1]
        )
        if target:
            self.transport.stop()
            s.seek(target[0])

    def run_propagate(self) -> None:
        """Propagate (Ctrl+Enter, the Render panel): the plan is confirmed first unless turned off."""
        from vivid_desktop.qt.propagate_panel import QtPlanDialog

        track_first = self.propagate_panel.track_first.isChecked()
        estimate = self.propagate.plan_estimate(track_first)
        if estimate is None or self.propagate.running or not self.settings.get("render/confirm_plan"):
            self.propagate.propagate(track_first=track_first)
            return
        dialog = QtPlanDialog(estimate, self)
        self.plan_dialog = dialog

        def accepted() -> None:
            if dialog.dont_ask.isChecked():
                self.settings.set("render/confirm_plan", False)
            self.propagate.propagate(track_first=track_first)

        dialog.accepted.connect(accepted)
        dialog.open()

    def show_error(self, title: str, message: str) -> None:
        """A problem the user must see: a non-blocking message box (and the status bar)."""
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        if self._closing:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorBox")
        box.open()

    def report_error(self, title: str, message: str) -> None:
        """An unexpected error (qt/errors.py): the status bar always, a dialog unless one is showing."""
        showing = any(b.isVisible() for b in self.findChildren(QMessageBox, "errorBox"))
        if showing:
            self.statusBar().showMessage(f"{title}: {message}", 10000)
        else:
            self.show_error(title, f"{message}\n\nThe details are in the log (vivid-desktop.log).")

    # ---- drag and drop, geometry, closing -------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def _masks_dropped_on_edit(self, edit_id: str, path: Path) -> None:
        """A mask video or PNG folder dropped onto an edit in the Edits panel: that edit's masks."""
        if self.session.edit_id != edit_id:
            self.session.select_edit(edit_id)
        self.mask_import.import_path(path)

    def dropEvent(self, event) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            path = urls[0].toLocalFile()
            if self.mask_import.accepts_drop(path):  # a mask video or PNG folder onto the open project
                self.mask_import.import_path(path)
            else:
                self.open_path(path)
            event.acceptProposedAction()

    def _restore_geometry(self) -> None:
        geometry = self.settings.qsettings.value("window/geometry")
        state = self.settings.qsettings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        screen = self.screen()
        if screen is not None:  # never larger than the screen (a 1366×768 laptop, a smaller monitor)
            area = screen.availableGeometry()
            self.resize(min(self.width(), area.width()), min(self.height(), area.height()))
            if geometry is None:
                self.move(area.topLeft())

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop everything we started (jobs, workers, the runtime) and save; leaves no thread behind."""
        self._closing = True
        t0 = time.monotonic()
        self.transport.stop()
        dialog = getattr(self, "export_dialog", None)
        if dialog is not None:
            dialog.close()
        if self._media_cancel is not None:
            self._media_cancel.set()
        for job in (self.propagate.job, self.tracker.job, self.keyframes.job):
            if job is not None and not job.done:
                job.cancel()
        self.settings.qsettings.setValue("window/geometry", self.saveGeometry())
        self.settings.qsettings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.workspaces.shutdown()
        self.session.shutdown()
        self.marker.mark_closed()
        self.runtime.stop()
        self.audio.close()
        self.pool.shutdown(wait=True)
        self.relay.closed = True
        self.errors.uninstall()
        log.debug("closed in %.2f s", time.monotonic() - t0)
        super().closeEvent(event)
