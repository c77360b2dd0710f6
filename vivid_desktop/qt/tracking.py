"""Mask tracking: send the selected edit's keyframe masks to the runtime and show the tracked masks.

The keyframe masks are the anchors; the runtime writes ``{frame:06d}.png`` into the edit's track folder
and announces each one with ``frame_ready`` (the viewer redraws the frame under the playhead as it
arrives). When the job succeeds the edit records its ``MaskTrack`` (so the render plan uses the tracked
masks), and a later correction of any frame's mask makes that frame a keyframe — a new anchor — which
marks the track stale until it is tracked again. Tracking again after a correction runs only over the
frames between the changed keyframes' neighbouring anchors (:mod:`vivid_desktop.core.retrack`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from vivid_desktop.core import retrack
from vivid_desktop.core.project import MaskTrack, ProjectError
from vivid_desktop.qt.runtime_bridge import QtJob, QtRuntime
from vivid_desktop.qt.session import EditorSession

log = logging.getLogger(__name__)


class TrackController(QObject):
    """Runs ``track_masks`` for the selected edit; one at a time."""

    stateChanged = Signal(bool, float, str)  # running, fraction, text
    frameTracked = Signal(int)
    finished = Signal(bool)  # succeeded
    measured = Signal(int, float)  # frames tracked, seconds (wall clock): for the time estimates

    def __init__(self, session: EditorSession, runtime: QtRuntime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runtime = runtime
        self.job: QtJob | None = None
        self._edit_id: str | None = None
        self._range = self._span = (0, 0)
        self._anchors: dict[int, str] = {}
        self._done = 0
        self._started = 0.0

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def track(self, start: int | None = None, stop: int | None = None) -> QtJob | None:
        """Track the selected edit's keyframe masks over ``[start, stop)`` (default: in/out range)."""
        store, edit = self.session.store, self.session.edit
        if store is None or edit is None:
            self.stateChanged.emit(False, 0.0, "Choose or create an edit first.")
            return None
        if not edit.keyframes:
            self.stateChanged.emit(False, 0.0, "Paint a mask on a keyframe first: it is what gets tracked.")
            return None
        if self.running:
            return self.job
        src = store.project.source
        start = src.in_frame if start is None else start
        stop = src.stop if stop is None else stop
        try:
            request = store.prepare_track(edit.id, start, stop)  # saves: the runtime reads masks from disk
        except ProjectError as exc:
            self.stateChanged.emit(False, 0.0, str(exc))
            return None
        folder = Path(request.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self._anchors = {a.frame: a.mask for a in request.anchors}
        span = retrack.plan_retrack(folder, self._anchors, start, stop)
        if span is not None:  # None: no keyframe changed, the job only fills in missing frames
            retrack.clear_range(folder, *span)  # the job writes what is missing: these frames, again
            request = request.model_copy(update={"start": span[0], "stop": span[1]})
        self._edit_id, self._range, self._done = edit.id, (start, stop), 0
        self._span = (request.start, request.stop)
        self._started = time.monotonic()
        job = self.runtime.submit(request, parent=self)
        job.progress.connect(self._on_progress)
        job.frameReady.connect(self._on_frame)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(lambda code, msg: self._end(False, f"Tracking failed: {msg}"))
        job.cancelled.connect(lambda _m: self._end(False, "Tracking cancelled."))
        self.job = job
        self.stateChanged.emit(True, 0.0, f"Tracking {request.stop - request.start} frames …")
        return job

    def abandon(self) -> None:
        """The project closed: stop the job and drop its late events (they belong to that project)."""
        if self.job is not None:
            if not self.job.done:
                self.job.cancel()
            self.job.blockSignals(True)
        self.job, self._edit_id, self._range, self._span, self._done = None, None, (0, 0), (0, 0), 0

    def cancel(self) -> None:
        if self.running and self.job is not None:
            self.job.cancel()

    def _on_progress(self, done: float, total: float, message: str, eta) -> None:
        fraction = done / total if total else 0.0
        eta_text = f", about {eta:.0f} s left" if eta else ""
        self.stateChanged.emit(True, fraction, f"{message or 'Tracking'} {fraction * 100:.0f} %{eta_text}")

    def _on_frame(self, frame: int, _path: str, _preview) -> None:
        self._done += 1
        lo, hi = self._span
        self.stateChanged.emit(True, self._done / max(1, hi - lo), f"Tracked frame {frame}")
        self.frameTracked.emit(frame)

    def _on_succeeded(self, result: dict) -> None:
        store = self.session.store
        if store is None or self._edit_id is None:
            return self._end(True, "Tracking done.")
        start, stop = self._range
        retrack.record_anchors(store.track_dir(self._edit_id), self._anchors, start, stop)
        folder = Path(store.track_dir(self._edit_id)).relative_to(store.folder).as_posix()
        try:
            store.project.set_edit_field(
                self._edit_id, "mask_track", MaskTrack(folder=folder, start=start, stop=stop)
            )
        except ProjectError as exc:
            return self._end(False, str(exc))
        lo, hi = self._span
        self.measured.emit(hi - lo, time.monotonic() - self._started)
        missing = int(result.get("missing", 0) or 0)
        note = f" ({missing} frames missing)" if missing else ""
        self._end(True, f"Tracked {hi - lo} frames{note}. Correct any frame to add an anchor.")

    def _end(self, ok: bool, text: str) -> None:
        self.stateChanged.emit(False, 1.0 if ok else 0.0, text)
        self.finished.emit(ok)
        if self.session.painter is not None:
            self.session.painter.set_target(self.session.edit_id, self.session.frame)
