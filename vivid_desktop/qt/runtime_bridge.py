"""The thin Qt layer over ``runtime_client``: client callbacks (on client threads) → queued Qt signals.

Like qtconsole's ``QtKernelClient``: the Qt-free ``Supervisor`` does the work; every callback it makes is
posted to the UI thread through ``MainThreadRelay`` before any signal is emitted, so slots always run on
the UI thread and a widget never sees a half-delivered event. Previews are decoded to ``QImage`` on the
client thread (QImage is safe off the UI thread), which keeps the UI thread light while frames stream.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from typing import Any

from pydantic import BaseModel
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from vivid_desktop.protocol import messages as m
from vivid_desktop.qt.workers import MainThreadRelay
from vivid_desktop.runtime_client import (
    LaunchSpec,
    Message,
    RuntimeClientError,
    RuntimeState,
    Supervisor,
    preview_bytes,
)

log = logging.getLogger(__name__)


def decode_preview(message: Message) -> QImage | None:
    """The preview image of a ``progress``/``frame_ready`` event as an owned QImage, or None."""
    found = preview_bytes(message)
    if found is None:
        return None
    info, data = found
    if info.format == "raw":
        if len(data) < info.width * info.height * 3:
            return None
        image = QImage(data, info.width, info.height, info.width * 3, QImage.Format.Format_RGB888)
        return image.copy()
    image = QImage()
    return image if image.loadFromData(data) else None


class QtJob(QObject):
    """One runtime job's events as signals (all emitted on the UI thread)."""

    started = Signal()
    progress = Signal(float, float, str, object)  # done, total, message, eta_s (float | None)
    counted = Signal(float, float, str)  # done, total, unit: progress that counts steps or stages
    previewReady = Signal(QImage)
    frameReady = Signal(int, str, object)  # frame, path, QImage | None
    logged = Signal(str, str)  # level, message
    succeeded = Signal(dict)
    failed = Signal(str, str)  # code, message
    cancelled = Signal(str)
    finished = Signal(str)  # the terminal type: succeeded / failed / cancelled

    def __init__(self, kind: str, request: BaseModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.request = request
        self.job_id = ""
        self.terminal: str | None = None
        self._handle: Any = None
        self._cancel_requested = False

    def cancel(self) -> None:
        """Ask the runtime to stop this job; it still ends with one terminal signal."""
        self._cancel_requested = True
        if self._handle is not None and self.terminal is None:
            self._handle.cancel()

    @property
    def done(self) -> bool:
        return self.terminal is not None

    def _dispatch(self, message: Message, preview: QImage | None) -> None:
        if self.terminal is not None:
            return
        match message.content:  # by the content's class: mypy checks each field read
            case m.Started():
                self.started.emit()
            case m.Progress() as c:
                self.progress.emit(float(c.done), float(c.total), c.message, c.eta_s)
                if c.unit:
                    self.counted.emit(float(c.done), float(c.total), c.unit)
                if preview is not None:
                    self.previewReady.emit(preview)
            case m.FrameReady() as c:
                self.frameReady.emit(int(c.frame), str(c.path), preview)
            case m.Log() as c:
                self.logged.emit(c.level, c.message)
            case m.Succeeded() as c:
                self._finish("succeeded")
                self.succeeded.emit(dict(c.result))
            case m.Failed() as c:
                self._finish("failed")
                self.failed.emit(c.code, c.message)
            case m.Cancelled() as c:
                self._finish("cancelled")
                self.cancelled.emit(c.message)
        if self.terminal is not None:
            self.finished.emit(self.terminal)

    def _finish(self, kind: str) -> None:
        self.terminal = kind


def default_launch_spec() -> LaunchSpec:
    """How the editor starts its runtime: at a lower CPU priority where the OS allows it, so that a
    render using every core never makes the editor stutter (the UI must answer within a frame)."""
    nice = shutil.which("nice") if os.name == "posix" else None
    if nice is None:
        return LaunchSpec()
    return LaunchSpec(command=[nice, "-n", "10", sys.executable, "-m", "model_runtime.server"])


class QtRuntime(QObject):
    """The runtime process as seen from the GUI: state, facts and jobs, with Qt signals."""

    stateChanged = Signal(str, str)  # RuntimeState value, detail
    ready = Signal(object)  # HelloReply
    factsReady = Signal(object)  # RuntimeFacts | None

    def __init__(self, relay: MainThreadRelay, spec: LaunchSpec | None = None, parent=None) -> None:
        super().__init__(parent)
        self._relay = relay
        self.spec = spec or default_launch_spec()
        self._sup: Supervisor | None = None
        self.state = RuntimeState.STOPPED.value
        self.detail = ""
        self.hello: m.HelloReply | None = None
        self.facts: m.RuntimeFacts | None = None
        self._jobs: dict[str, QtJob] = {}
        self._facts_thread: threading.Thread | None = None

    # ---- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or restart after a permanent failure) the runtime in the background."""
        if self._sup is not None and self._sup.state not in (RuntimeState.DEAD, RuntimeState.STOPPED):
            return
        self._sup = Supervisor(
            self.spec,
            on_state=lambda s, d: self._relay.post(self._on_state, s.value, d),
            on_event=lambda msg: log.debug("runtime event without a job: %s", msg.msg_type),
            on_ready=lambda hello: self._relay.post(self._on_ready, hello),
        )
        self._sup.start()

    def stop(self) -> None:
        """Shut the runtime down (request → terminate → kill); blocks for at most a few seconds."""
        sup, self._sup = self._sup, None
        if sup is not None:
            sup.stop()
        if self._facts_thread is not None:
            self._facts_thread.join(5.0)
            self._facts_thread = None
        self.state = RuntimeState.STOPPED.value

    @property
    def is_ready(self) -> bool:
        return self.state in (RuntimeState.READY.value, RuntimeState.BUSY.value)

    @property
    def pid(self) -> int | None:
        client = self._sup.client if self._sup is not None else None
        return client.pid if client is not None else None

    def engines(self) -> dict[str, m.EngineDescription]:
        return {e.name: e for e in (self.hello.engines if self.hello else [])}

    def _on_state(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail
        self.stateChanged.emit(state, detail)

    def _on_ready(self, hello: m.HelloReply) -> None:
        self.hello = hello
        self.ready.emit(hello)
        self._fetch_facts()

    def _fetch_facts(self) -> None:
        """Ask for torch/GPU facts on a thread of our own (the runtime imports torch for it)."""
        sup = self._sup
        if sup is None or (self._facts_thread is not None and self._facts_thread.is_alive()):
            return

        def work() -> None:
            try:
                client = sup.client
                facts = client.runtime_facts(timeout=120.0) if client is not None else None
            except (RuntimeClientError, TimeoutError, OSError) as exc:
                log.info("runtime facts unavailable: %s", exc)
                facts = None
            self._relay.post(self._on_facts, facts)

        self._facts_thread = threading.Thread(target=work, name="vivid-runtime-facts", daemon=True)
        self._facts_thread.start()

    def _on_facts(self, facts: m.RuntimeFacts | None) -> None:
        self.facts = facts
        self.factsReady.emit(facts)

    # ---- jobs -----------------------------------------------------------------------------------
    def submit(self, request: BaseModel, parent: QObject | None = None) -> QtJob:
        """Start a job. A job that cannot start ends at once with ``failed`` (signals still queued)."""
        kind = type(request).__name__
        job = QtJob(kind, request, parent or self)

        def on_event(message: Message) -> None:  # on a client thread
            preview = decode_preview(message) if message.msg_type in ("progress", "frame_ready") else None
            self._relay.post(job._dispatch, message, preview)

        try:
            if self._sup is None:
                raise RuntimeClientError("the runtime is not running")
            handle = self._sup.submit(request, on_event=on_event)
        except RuntimeClientError as exc:
            self._relay.post(self._fail_now, job, str(exc))
            return job
        job._handle = handle
        job.job_id = handle.job_id
        self._jobs[job.job_id] = job
        job.finished.connect(lambda _t, jid=job.job_id: self._jobs.pop(jid, None))
        if job._cancel_requested:
            handle.cancel()
        return job

    def _fail_now(self, job: QtJob, message: str) -> None:
        if job.terminal is None:
            job._finish("failed")
            job.failed.emit("not_ready", message)
            job.finished.emit("failed")

    def active_jobs(self) -> list[QtJob]:
        return [j for j in self._jobs.values() if not j.done]
