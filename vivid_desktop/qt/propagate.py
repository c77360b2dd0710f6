"""Propagate: the render plan on the timeline, the run in the runtime, frames streaming back.

``PropagateController`` prepares a render (``ProjectStore.prepare_render`` snapshots the inputs and
records it), sends the plan, and follows the job: each ``frame_ready`` goes onto the timeline (with its
small preview) and, when following, into the viewer; progress carries an ETA; cancel is cooperative;
an interrupted render resumes from what is on disk (the runtime skips finished frames). Re-running after
a keyframe change renders only the keyframe's neighbourhood (``core.results.affected_range``): the
newest render wins where renders overlap, so the rest of the previous render stays in use.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from vivid_desktop.core.estimates import PlanEstimate, SpeedBook, describe_duration, describe_estimate
from vivid_desktop.core.project import Edit, ProjectError, Render, RenderStatus
from vivid_desktop.core.results import affected_range
from vivid_desktop.core.store import ProjectStore
from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.protocol.windows import plan_windows
from vivid_desktop.qt.model_manager import vivid_engine_settings
from vivid_desktop.qt.runtime_bridge import QtJob, QtRuntime
from vivid_desktop.qt.session import EditorSession
from vivid_desktop.qt.settings import AppSettings
from vivid_desktop.qt.tracking import TrackController

log = logging.getLogger(__name__)


def plan_windows_for(engine: str, start: int, stop: int, keyframes: list) -> list[tuple[int, int, str]]:
    """The windows drawn on the timeline, ``(start, stop, direction)``: the vivid engine's own plan (only
    keyframes with an edited image start windows, as in the runtime), one span for the flow engine."""
    if stop <= start:
        return []
    if engine == "vivid":
        keys = [k.frame for k in keyframes if getattr(k, "image", None)]
        return [(w.start, w.stop, w.direction) for w in plan_windows(start, stop, keys)]
    return [(start, stop, "forward")]


def _prepare(store: ProjectStore, edit_id: str) -> Render | None:
    """Worker thread: decide the range, snapshot the inputs and record the render (None: up to date)."""
    edit = store.project.edit(edit_id)
    start = stop = None
    last = next((r for r in reversed(edit.renders) if r.status == "done"), None)
    if last is not None:
        try:
            span = affected_range(store, edit, last)
        except (ProjectError, OSError, ValueError):
            span = (store.project.source.in_frame, store.project.source.stop)
        if span is None:
            return None
        start, stop = span
    return store.prepare_render(edit_id, start, stop)


class PropagateController(QObject):
    """Runs renders of the selected edit; one at a time."""

    stateChanged = Signal(bool, float, str)  # running, fraction, text
    planChanged = Signal(list, object)  # windows [(start, stop, direction)], (start, stop) | None
    frameRendered = Signal(int, object)  # frame, preview QImage | None
    finished = Signal(str)  # succeeded / failed / cancelled
    resumable = Signal(bool)
    latentPreview = Signal(QImage)
    speedMeasured = Signal()  # the estimates changed

    def __init__(
        self,
        session: EditorSession,
        runtime: QtRuntime,
        settings: AppSettings,
        tracker: TrackController | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.tracker = tracker
        self._preparing = False
        self._after_tracking: Callable[[bool], None] | None = None
        self.runtime = runtime
        self.settings = settings
        self.job: QtJob | None = None
        self.render: Render | None = None
        self.engine = ""  # of the render running (or last run)
        self.cluster: str | None = None  # the Ray cluster of the last render (None: this machine)
        self.follow = True
        self._started_at = 0.0
        self._started_done = 0
        self._expected_fps = 1.0
        self._done = 0
        self._total = 0
        self._follow_frame: int | None = None
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(100)  # at most ten viewer jumps a second while frames stream
        self._follow_timer.timeout.connect(self._follow_now)
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(500)
        self._status_timer.timeout.connect(self._store_progress)

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    # ---- the plan -------------------------------------------------------------------------------
    def preview_plan(self) -> None:
        """Tell the timeline what a run would do (windows and range) for the selected edit."""
        edit, store = self.session.edit, self.session.store
        if edit is None or store is None:
            self.planChanged.emit([], None)
            return
        src = store.project.source
        self.planChanged.emit(
            plan_windows_for(edit.engine, src.in_frame, src.stop, edit.keyframes), (src.in_frame, src.stop)
        )

    def speed_book(self) -> SpeedBook:
        """Speeds measured on this machine (``speed/measured`` in the settings)."""
        raw = str(self.settings.qsettings.value("speed/measured", "") or "")
        try:
            return SpeedBook(json.loads(raw) if raw else {})
        except (TypeError, ValueError):
            return SpeedBook()

    def record_speed(self, engine: str, frames: int, seconds: float) -> None:
        """Fold a measured run into the speed book (per engine and the clip's resolution)."""
        store = self.session.store
        if store is None or frames < 2:
            return
        src = store.project.source
        book = self.speed_book()
        book.record(engine, src.width, src.height, frames, seconds)
        self.settings.qsettings.setValue("speed/measured", json.dumps(book.entries, sort_keys=True))
        self.speedMeasured.emit()

    def plan_estimate(self, track_first: bool = True) -> PlanEstimate | None:
        """What Propagate would do now: frames, windows, time (tracking included), disk needed."""
        edit, store = self.session.edit, self.session.store
        if edit is None or store is None:
            return None
        src = store.project.source
        frames = src.stop - src.in_frame
        windows = plan_windows_for(edit.engine, src.in_frame, src.stop, edit.keyframes)
        book = self.speed_book()
        render_s, measured = book.seconds(edit.engine, src.width, src.height, frames)
        track_frames = frames if track_first and self.needs_tracking() else 0
        track_s, track_measured = book.seconds("track", src.width, src.height, track_frames)
        try:
            free = shutil.disk_usage(store.folder).free
        except OSError:
            free = None
        return PlanEstimate(
            edit.engine, frames, len(windows), track_frames, track_s if track_frames else 0.0, render_s,
            measured and (track_measured or not track_frames), frames * _bytes_per_frame(store), free,
        )  # fmt: skip

    def estimate_text(self, track_first: bool = True) -> str:
        estimate = self.plan_estimate(track_first)
        return "" if estimate is None else describe_estimate(estimate)

    def last_render(self, edit: Edit | None = None) -> Render | None:
        edit = edit or self.session.edit
        return edit.renders[-1] if edit is not None and edit.renders else None

    def can_resume(self) -> bool:
        render = self.last_render()
        return (
            render is not None
            and render.status in ("running", "cancelled", "failed", "queued")
            and not self.running
        )

    # ---- running --------------------------------------------------------------------------------
    def needs_tracking(self) -> bool:
        """True when the edit has keyframes but no current mask track (the masks would not move)."""
        edit = self.session.edit
        if edit is None or not edit.keyframes or self.session.store is None:
            return False
        src = self.session.store.project.source
        if src.stop - src.in_frame <= 1:
            return False
        track = edit.mask_track
        return track is None or track.stale or track.start > src.in_frame or track.stop < src.stop

    def propagate(self, track_first: bool = False, cluster: str | None = None) -> bool:
        """Render the selected edit (only what changed since its last finished render).

        With ``track_first`` the keyframe masks are tracked first when there is no current track.
        ``cluster``: render on that Ray cluster ("local" or an address; docs/studio.md), else here; a
        Resume goes where the last render went. Returns False when nothing was started.
        """
        store, edit = self.session.store, self.session.edit
        if store is None or edit is None:
            self.stateChanged.emit(False, 0.0, "Choose or create an edit first.")
            return False
        if self.running or self._preparing:
            return False
        tracker = self.tracker
        if track_first and tracker is not None and self.needs_tracking():
            job = tracker.track()
            if job is None:
                return False
            self._preparing = True
            self.stateChanged.emit(True, 0.0, "Tracking the mask first …")

            def after_tracking(ok: bool) -> None:
                tracker.finished.disconnect(after_tracking)
                self._after_tracking = None
                self._preparing = False
                if ok:
                    self.propagate(track_first=False, cluster=cluster)
                else:
                    self.stateChanged.emit(False, 0.0, "Propagation not started: tracking did not finish.")

            self._after_tracking = after_tracking
            tracker.finished.connect(after_tracking)
            return True
        self.cluster = cluster
        self._preparing = True
        self.stateChanged.emit(True, 0.0, "Preparing the render …")
        self.session.pool.run(
            _prepare, store, edit.id,
            on_result=lambda render: self._prepared(render) if self.session.store is store else None,
            on_error=lambda exc: self._prepare_failed(exc) if self.session.store is store else None,
            name="prepare",
        )  # fmt: skip
        return True

    def _prepared(self, render: Render | None) -> None:
        self._preparing = False
        if render is None:
            self.stateChanged.emit(False, 1.0, "Nothing changed since the last render.")
            self.finished.emit("unchanged")
            return
        self._run(render)

    def _prepare_failed(self, exc: BaseException) -> None:
        self._preparing = False
        self.stateChanged.emit(False, 0.0, str(exc))
        self.finished.emit("failed")

    def resume(self) -> QtJob | None:
        """Send the last unfinished render again; the runtime skips the frames already on disk."""
        render = self.last_render()
        if render is None or self.running:
            return None
        return self._run(render)

    def _run(self, render: Render) -> QtJob:
        store = self.session.store
        assert store is not None
        plan = store.render_plan(render)
        plan = plan.model_copy(
            update={"settings": self._runtime_settings(plan, store), "cluster": self.cluster}
        )
        self.render = render
        self.engine = plan.engine
        self._done = len(store.rendered_frames(render.id))
        self._total = plan.stop - plan.start
        self._started_at = time.monotonic()
        self._started_done = self._done
        self._expected_fps = self.speed_book().speed(plan.engine, store.project.source.width,
                                                     store.project.source.height).fps  # fmt: skip
        self.planChanged.emit(
            plan_windows_for(plan.engine, plan.start, plan.stop, plan.keyframes),
            (plan.start, plan.stop),
        )
        store.project.set_render_status(render.id, "running", frames_done=self._done)
        job = self.runtime.submit(plan, parent=self)
        job.progress.connect(self._on_progress)
        job.frameReady.connect(self._on_frame)
        job.previewReady.connect(self.latentPreview)
        job.succeeded.connect(lambda result: self._end("succeeded", "done", "Propagation finished."))
        job.failed.connect(lambda code, msg: self._end("failed", "failed", f"Propagation failed: {msg}"))
        job.cancelled.connect(
            lambda _m: self._end("cancelled", "cancelled", "Propagation cancelled; Resume continues it.")
        )
        self.job = job
        self._follow_timer.start()
        self.stateChanged.emit(True, self._done / max(1, self._total), f"Rendering {self._total} frames …")
        self.resumable.emit(False)
        return job

    def _runtime_settings(self, plan: RenderPlan, store: ProjectStore) -> dict:
        settings = dict(plan.settings)
        settings.setdefault("cache_dir", str(store.cache_dir("flow")))
        if plan.engine == "vivid":
            for key, value in vivid_engine_settings(self.settings).items():
                settings.setdefault(key, value)
        return settings

    def abandon(self) -> None:
        """The project closed: stop the render (or the tracking before it) and drop its late events,
        which belong to that project (its render keeps the frames on disk and resumes when reopened)."""
        if self.job is not None:
            if not self.job.done:
                self.job.cancel()
            self.job.blockSignals(True)
        if self._after_tracking is not None and self.tracker is not None:
            self.tracker.finished.disconnect(self._after_tracking)
            self._after_tracking = None
        self._follow_timer.stop()
        self._status_timer.stop()
        self.job, self.render, self._preparing = None, None, False
        self._done = self._total = 0
        self._follow_frame = None

    def cancel(self) -> None:
        """Stop the render (or the tracking that runs before it)."""
        if self.running and self.job is not None:
            self.job.cancel()
        elif self._preparing and self.tracker is not None and self.tracker.running:
            self.tracker.cancel()

    # ---- events ---------------------------------------------------------------------------------
    def _on_progress(self, done: float, total: float, message: str, eta) -> None:
        fraction = done / total if total else 0.0
        self.stateChanged.emit(True, fraction, self._progress_text(fraction, eta, message))

    def _progress_text(self, fraction: float, eta, message: str = "") -> str:
        if eta is None:  # this run's own speed once frames arrive, the remembered one before
            elapsed = time.monotonic() - self._started_at
            new = self._done - self._started_done
            left = self._total - self._done
            eta = left * elapsed / new if new >= 2 and elapsed > 0.5 else left / self._expected_fps
        eta_text = f" — about {describe_duration(eta)} left" if eta else ""
        return f"{message or 'Rendering'}: {fraction * 100:.0f} %{eta_text}"

    def _on_frame(self, frame: int, _path: str, preview) -> None:
        self._done += 1
        self.frameRendered.emit(frame, preview)
        if self.follow:
            self._follow_frame = frame
        if frame == self.session.frame:
            self.session.frames.refresh()
        self._status_timer.start() if not self._status_timer.isActive() else None
        fraction = self._done / max(1, self._total)
        self.stateChanged.emit(True, fraction, self._progress_text(fraction, None, f"Frame {frame}"))

    def _follow_now(self) -> None:
        if self._follow_frame is not None and not self.session.playing:
            frame, self._follow_frame = self._follow_frame, None
            self.session.seek(frame)

    def _store_progress(self) -> None:
        store = self.session.store
        if store is not None and self.render is not None and self.running:
            with contextlib.suppress(ProjectError):
                store.project.set_render_status(self.render.id, "running", frames_done=self._done)

    def _end(self, terminal: str, status: RenderStatus, text: str) -> None:
        new = self._done - self._started_done
        if terminal in ("succeeded", "cancelled") and new >= 2:
            self.record_speed(self.engine, new, time.monotonic() - self._started_at)
        self._follow_timer.stop()
        self._follow_now()
        store = self.session.store
        if store is not None and self.render is not None:
            try:
                done = len(store.rendered_frames(self.render.id))
                store.project.set_render_status(self.render.id, status, frames_done=done, message=text)
            except ProjectError:
                pass
        self.session.frames.refresh()
        self.stateChanged.emit(
            False, 1.0 if terminal == "succeeded" else self._done / max(1, self._total), text
        )
        self.resumable.emit(terminal != "succeeded")
        self.finished.emit(terminal)


def _bytes_per_frame(store: ProjectStore) -> int:
    """Disk one rendered frame takes: the average of this project's rendered PNGs, else a guess."""
    sizes = []
    for edit in store.project.edits:
        for render in edit.renders[-2:]:
            for path in list(store.render_dir(render.id).glob("[0-9]*.png"))[:20]:
                with contextlib.suppress(OSError):
                    sizes.append(path.stat().st_size)
    if sizes:
        return int(sum(sizes) / len(sizes))
    src = store.project.source
    return int(src.width * src.height * 3 * 0.5)  # PNG of video frames: about half the raw size
