"""Background work off the UI thread, with results delivered on the UI thread.

Python threads are used rather than ``QThreadPool``: Python code running on a thread that Python did
not start gets a permanent "dummy" ``threading.Thread`` entry, which the test suite's leak guard (and a
debugger) would see as a leaked thread forever. Our threads have names (``vivid-…``) and are joined on
shutdown, so a window that closes leaves nothing behind.

Results, yields and errors are relayed to the UI thread through a queued Qt signal (the pattern of
superqt's ``ensure_main_thread``); a cancelled job's pending deliveries are dropped.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)

_Request = tuple[Callable[[], Any], Callable[[Any], None] | None, Callable[[BaseException], None] | None]


class MainThreadRelay(QObject):
    """Runs callables on the thread that owns this object (the UI thread), in order."""

    _posted = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.closed = False
        self._posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``; safe from any thread, never runs it synchronously."""
        if not self.closed:
            self._posted.emit((fn, args))

    def _run(self, item: tuple[Callable[..., Any], tuple]) -> None:
        if self.closed:
            return
        fn, args = item
        try:
            fn(*args)
        except Exception:  # a broken slot must not kill the event loop; the user is told (qt/errors.py)
            sys.excepthook(*sys.exc_info())


class Job:
    """Handle of one background job: ``cancel()`` stops deliveries and tells the work to stop."""

    def __init__(self, name: str, cancel: threading.Event | None = None) -> None:
        self.name = name
        self.cancel_event = cancel or threading.Event()
        self.done = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


class WorkerPool:
    """A small pool of named Python threads for decode, I/O and encode jobs.

    ``run(fn, *args, on_result=, on_yield=, on_error=, on_finally=)``: when ``fn`` returns a generator,
    each yielded value goes to ``on_yield`` (streaming, like superqt's ``GeneratorWorker``) and the
    generator's return value to ``on_result``. Callbacks run on the UI thread.
    """

    def __init__(self, relay: MainThreadRelay, max_workers: int = 2, name: str = "vivid-worker") -> None:
        self._relay = relay
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._jobs: set[Job] = set()
        self._lock = threading.Lock()
        self.closed = False

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_yield: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_finally: Callable[[], None] | None = None,
        cancel: threading.Event | None = None,
        name: str = "",
    ) -> Job:
        job = Job(name or getattr(fn, "__name__", "job"), cancel)
        if self.closed:
            job.cancel()
            return job
        with self._lock:
            self._jobs.add(job)
        self._executor.submit(self._work, job, fn, args, on_result, on_yield, on_error, on_finally)
        return job

    def _deliver(self, job: Job, fn: Callable[..., Any] | None, *args: Any) -> None:
        if fn is None:
            return

        def call() -> None:
            if not job.cancelled:
                fn(*args)

        self._relay.post(call)

    def _work(self, job, fn, args, on_result, on_yield, on_error, on_finally) -> None:
        try:
            if job.cancelled:
                return
            result = fn(*args)
            if inspect.isgenerator(result):
                result = self._drain(job, result, on_yield)
            if not job.cancelled:
                self._deliver(job, on_result, result)
        except Exception as exc:
            if not job.cancelled:
                if on_error is None:
                    log.error("background job %s failed", job.name, exc_info=exc)
                self._deliver(job, on_error, exc)
        finally:
            job.done.set()
            with self._lock:
                self._jobs.discard(job)
            if on_finally is not None:
                self._relay.post(on_finally)

    def _drain(self, job: Job, gen, on_yield) -> Any:
        try:
            while True:
                if job.cancelled:
                    gen.close()
                    return None
                try:
                    value = next(gen)
                except StopIteration as stop:
                    return stop.value
                self._deliver(job, on_yield, value)
        finally:
            gen.close()

    def busy(self) -> bool:
        with self._lock:
            return bool(self._jobs)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel every job and join the threads (jobs must honour their cancel flag promptly)."""
        self.closed = True
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.cancel()
        self._executor.shutdown(wait=wait, cancel_futures=True)


class LatestWorker:
    """One thread that runs only the newest request: older pending requests are replaced, not queued.

    Used for decoding frames while scrubbing: when the playhead moves faster than frames decode, the
    frames in between are skipped instead of piling up. ``submit`` queues work that must run (opening
    and closing readers), always before the newest replaceable request.
    """

    def __init__(self, relay: MainThreadRelay, name: str = "vivid-decode") -> None:
        self._relay = relay
        self._cond = threading.Condition()
        self._always: deque[_Request] = deque()
        self._pending: _Request | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def request(self, fn: Callable[[], Any], on_result=None, on_error=None) -> None:
        """Run ``fn`` soon, replacing any request that has not started yet."""
        with self._cond:
            self._pending = (fn, on_result, on_error)
            self._cond.notify()

    def submit(self, fn: Callable[[], Any], on_result=None, on_error=None) -> None:
        """Run ``fn`` for sure (in order with other submitted work)."""
        with self._cond:
            self._always.append((fn, on_result, on_error))
            self._cond.notify()

    def cancel_pending(self) -> None:
        with self._cond:
            self._pending = None

    def _next(self) -> _Request | None:
        with self._cond:
            while self._pending is None and not self._always and not self._stop:
                self._cond.wait()
            if self._stop:
                return None
            if self._always:
                return self._always.popleft()
            item, self._pending = self._pending, None
            return item

    def _loop(self) -> None:
        while (item := self._next()) is not None:
            fn, on_result, on_error = item
            try:
                result = fn()
            except Exception as exc:
                log.debug("decode request failed: %s", exc)
                if on_error is not None:
                    self._relay.post(on_error, exc)
                continue
            # A result overtaken by a newer request is still delivered (it is the best picture we
            # have until the newer one lands); callers compare frame numbers themselves.
            if on_result is not None:
                self._relay.post(on_result, result)

    def shutdown(self) -> None:
        """Stop after the running request; submitted work that has not started is run here."""
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()
        self._thread.join(timeout=10)
        while self._always:
            fn = self._always.popleft()[0]
            try:
                fn()
            except Exception:
                log.debug("cleanup after shutdown failed", exc_info=True)
