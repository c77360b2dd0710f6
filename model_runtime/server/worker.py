"""The runtime's one job queue, its worker thread, and the JobContext that engines see.

Every job ends with exactly one terminal event: ``succeeded``, ``failed`` or ``cancelled``, whatever the
engine does (returns, raises, is cancelled while queued). Cancellation is cooperative: the engine calls
``ctx.check_cancelled()``, which raises :class:`JobCancelled` once the job's flag is set.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from model_runtime.engines.base import EngineError, JobCancelled
from model_runtime.server.previews import encode_preview
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.messages import (
    Cancelled,
    Failed,
    FrameReady,
    Log,
    Metrics,
    Progress,
    Started,
    Succeeded,
)

log = logging.getLogger(__name__)

#: (content, job, buffers, merge_key, strippable) → queued on the outbox
Emit = Callable[[BaseModel, "Job", tuple[bytes, ...], object, bool], None]
#: runs one job kind; returns the ``result`` of ``succeeded``
Runner = Callable[[BaseModel, "ServerJobContext"], dict[str, Any]]

#: Previews are thumbnails: at most one per this many seconds per job and event kind.
PREVIEW_INTERVAL_S = 0.2


@dataclass
class Job:
    job_id: str
    kind: str
    request: BaseModel
    parent_id: str
    #: the client session that submitted it (several editors may share a remote runtime)
    owner: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def key(self) -> tuple[str, str]:
        """Job ids are chosen by clients: they are unique per owner only."""
        return self.owner, self.job_id


class ServerJobContext:
    """The server's :class:`model_runtime.engines.base.JobContext`: progress, frames, cancel, log."""

    def __init__(self, job: Job, emit: Emit) -> None:
        self.job = job
        self._emit = emit
        self._started = time.monotonic()
        # Throttled per kind: a burst of decoded frames must not starve the next window's latent previews.
        self._last_preview: dict[str, float] = {}

    def progress(
        self, done: float, total: float, message: str = "", preview: Any = None, unit: str = ""
    ) -> None:
        done, total = float(done), float(total)
        eta = None
        if 0 < done < total:
            eta = round((time.monotonic() - self._started) * (total - done) / done, 2)
        info, buffers = self._preview("progress", preview)
        content = Progress(
            done=done, total=total, message=str(message), eta_s=eta, preview=info, unit=str(unit)
        )
        # Steps are few (each one a full transformer pass) and a client counts them: never merged.
        merge_key = None if unit == "step" else ("progress", self.job.job_id)
        self._emit(content, self.job, buffers, merge_key, True)

    def frame_ready(self, frame: int, path: Path, preview: Any = None) -> None:
        info, buffers = self._preview("frame_ready", preview)
        content = FrameReady(frame=int(frame), path=str(path), preview=info)
        self._emit(content, self.job, buffers, None, True)

    def metrics(self, step: int, values: dict[str, float]) -> None:
        """Numbers of one step (e.g. the trainer's loss) for the GUI's plots; never dropped."""
        clean = {str(k): float(v) for k, v in values.items()}
        self._emit(Metrics(step=int(step), values=clean), self.job, (), None, False)

    def check_cancelled(self) -> None:
        if self.job.cancel.is_set():
            raise JobCancelled(self.job.job_id)

    def log(self, message: str) -> None:
        log.info("[%s] %s", self.job.job_id, message)
        self._emit(Log(message=str(message)), self.job, (), None, False)

    def _preview(self, kind: str, preview: Any) -> tuple[Any, tuple[bytes, ...]]:
        now = time.monotonic()
        last = self._last_preview.get(kind)
        if preview is None or (last is not None and now - last < PREVIEW_INTERVAL_S):
            return None, ()
        encoded = encode_preview(preview)
        if encoded is None:
            return None, ()
        self._last_preview[kind] = now
        return encoded[0], (encoded[1],)


class JobQueue:
    """One queue, one worker thread: jobs run one after another."""

    def __init__(self, emit: Emit, runners: dict[str, Runner]) -> None:
        self._emit = emit
        self._runners = runners
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str], Job] = {}
        self._current: Job | None = None
        self._thread = threading.Thread(target=self._run, name="vivid-runtime-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def ahead(self) -> int:
        """How many jobs a job submitted now would wait for."""
        with self._lock:
            return len(self._waiting) + (1 if self._current else 0)

    def submit(self, job: Job) -> None:
        """Queue ``job``."""
        with self._lock:
            self._waiting[job.key] = job
        self._queue.put(job)

    def knows(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._waiting or (self._current is not None and self._current.key == key)

    def cancel(self, key: tuple[str, str]) -> str | None:
        """``removed`` (was queued), ``cancelling`` (runs now) or None (no such live job)."""
        with self._lock:
            job = self._waiting.pop(key, None)
            if job is None:
                if self._current is not None and self._current.key == key:
                    self._current.cancel.set()
                    return "cancelling"
                return None
        job.cancel.set()
        self._emit(Cancelled(message="cancelled before it started"), job, (), None, False)
        return "removed"

    def snapshot(self, owner: str | None = None) -> tuple[Job | None, list[str]]:
        """The running job and the queued job ids (of ``owner`` only, when given)."""
        with self._lock:
            current = self._current
            if owner is not None and current is not None and current.owner != owner:
                current = None
            return current, [j.job_id for j in self._waiting.values() if owner in (None, j.owner)]

    def cancel_owner(self, owner: str) -> None:
        """Cancel every queued and running job of one client (it went away)."""
        with self._lock:
            keys = [k for k in self._waiting if k[0] == owner]
            if self._current is not None and self._current.owner == owner:
                keys.append(self._current.key)
        for key in keys:
            self.cancel(key)

    def wait_owner(self, owner: str, timeout: float) -> bool:
        """Wait until no job of ``owner`` runs; True if none runs now."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = self._current is not None and self._current.owner == owner
            if not running or time.monotonic() >= deadline:
                return not running
            time.sleep(0.02)

    def idle(self) -> bool:
        with self._lock:
            return self._current is None and not self._waiting

    def stop(self, timeout: float) -> bool:
        """Cancel everything, let the running job stop; True if the worker ended within ``timeout``."""
        with self._lock:
            waiting = list(self._waiting)
        for key in waiting:
            self.cancel(key)
        with self._lock:
            if self._current is not None:
                self._current.cancel.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if self._waiting.pop(job.key, None) is None:
                    continue  # cancelled while queued; its terminal event is already sent
                self._current = job
            try:
                self._run_one(job)
            finally:
                with self._lock:
                    self._current = None

    def _run_one(self, job: Job) -> None:
        ctx = ServerJobContext(job, self._emit)
        log.info("job %s (%s) started", job.job_id, job.kind)
        self._emit(Started(kind=job.kind), job, (), None, False)
        terminal: BaseModel
        try:
            ctx.check_cancelled()
            result = self._runners[job.kind](job.request, ctx)
            # a result that is not plain JSON must not cost the job its terminal event
            terminal = Succeeded(result=json.loads(json.dumps(result or {}, default=str)))
        except JobCancelled:
            terminal = Cancelled()
        except EngineError as exc:
            terminal = Failed(code=exc.code, message=exc.message)
        except FileNotFoundError as exc:
            terminal = Failed(code=ErrorCode.FILE_NOT_FOUND, message=f"file not found: {exc.filename or exc}")
        except MemoryError:
            terminal = Failed(code=ErrorCode.OUT_OF_MEMORY, message="the runtime ran out of memory")
        except Exception as exc:  # the runtime survives any engine bug; the user sees one line
            log.exception("job %s (%s) failed", job.job_id, job.kind)
            terminal = Failed(code=ErrorCode.INTERNAL_ERROR, message=f"{type(exc).__name__}: {exc}")
        log.info("job %s (%s) ended: %s", job.job_id, job.kind, type(terminal).__name__.lower())
        self._emit(terminal, job, (), None, False)
