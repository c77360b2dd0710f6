"""Keeps a runtime alive: start, watch, restart with a limit, stop (modelled on jupyter_client's restarter).

A runtime that dies is restarted unless it died more than ``restart_limit`` times within
``restart_window_s``, or failed in a way a restart cannot fix (a protocol mismatch): then the state is
``dead`` and :attr:`Supervisor.last_error` says why. Jobs running at a death end with ``failed``
(``runtime_died``); the caller decides whether to submit them again (renders resume from disk).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from pydantic import BaseModel

from vivid_desktop.protocol import messages as m
from vivid_desktop.runtime_client.client import RuntimeClient, RuntimeState, StateCallback
from vivid_desktop.runtime_client.errors import NotReady, RuntimeClientError, RuntimeStartError
from vivid_desktop.runtime_client.jobs import EventCallback, Job
from vivid_desktop.runtime_client.launch import LaunchSpec

log = logging.getLogger(__name__)


class Supervisor:
    """Owns the current :class:`RuntimeClient` and replaces it when it dies."""

    def __init__(
        self,
        spec: LaunchSpec | None = None,
        *,
        restart_limit: int = 3,
        restart_window_s: float = 60.0,
        restart_delay_s: float = 0.2,
        on_state: StateCallback | None = None,
        on_event: EventCallback | None = None,
        on_ready: Callable[[m.HelloReply], None] | None = None,
    ) -> None:
        self.spec = spec or LaunchSpec()
        self.restart_limit = restart_limit
        self.restart_window_s = restart_window_s
        self.restart_delay_s = restart_delay_s
        self._on_state, self._on_event, self._on_ready = on_state, on_event, on_ready
        self._lock = threading.Lock()
        self._client: RuntimeClient | None = None
        self._state = RuntimeState.STOPPED
        self._died = threading.Event()
        self._stopping = threading.Event()
        self._ready = threading.Condition(self._lock)
        self._deaths: deque[float] = deque()
        self._thread: threading.Thread | None = None
        self.launches = 0
        self.last_error = ""

    @property
    def state(self) -> RuntimeState:
        return self._state

    @property
    def hello(self) -> m.HelloReply | None:
        """The current runtime's ``hello_reply`` (engines, versions), None while there is none."""
        client = self.client
        return client.hello if client is not None else None

    @property
    def client(self) -> RuntimeClient | None:
        """The current client when the runtime is ready or busy, else None."""
        with self._lock:
            ok = self._state in (RuntimeState.READY, RuntimeState.BUSY)
            return self._client if ok else None

    def start(self) -> None:
        """Start supervising (returns at once; watch the state or call :meth:`wait_ready`)."""
        if self._thread is not None:
            raise RuntimeError("a Supervisor starts once")
        self._thread = threading.Thread(target=self._run, name="vivid-supervisor", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> m.HelloReply:
        """Block until a runtime is ready; :class:`RuntimeClientError` if it is dead for good."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while True:
                if self._state in (RuntimeState.READY, RuntimeState.BUSY):
                    assert self._client is not None and self._client.hello is not None
                    return self._client.hello
                if self._state == RuntimeState.DEAD or self._stopping.is_set():
                    raise RuntimeClientError(self.last_error or "the runtime is not running")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError("the runtime did not become ready in time")
                self._ready.wait(left)

    def stop(self, timeout: float | None = None) -> None:
        """Shut the runtime down (request → terminate → kill) and join the supervisor thread."""
        self._stopping.set()
        self._died.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(None if timeout is None else timeout + 10.0)
        self._set_state(RuntimeState.STOPPED, "")

    # ---- delegation ----------------------------------------------------------------------------

    def submit(
        self, request: BaseModel, on_event: EventCallback | None = None, job_id: str | None = None
    ) -> Job:
        """Start a job on the current runtime; :class:`NotReady` while there is none."""
        return self._require().submit(request, on_event=on_event, job_id=job_id)

    def request(self, content: BaseModel, timeout: float | None = None) -> BaseModel:
        return self._require().request(content, timeout)

    def cancel(self, job_id: str) -> None:
        client = self.client
        if client is not None:
            client.cancel(job_id)

    def _require(self) -> RuntimeClient:
        client = self.client
        if client is None:
            raise NotReady(
                f"the runtime is {self._state.value}" + (f": {self.last_error}" if self.last_error else "")
            )
        return client

    # ---- the supervising thread ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._set_state(
                RuntimeState.RESTARTING if self.launches else RuntimeState.STARTING, self.last_error
            )
            fatal = self._run_one()
            if self._stopping.is_set():
                break
            now = time.monotonic()
            self._deaths.append(now)
            while self._deaths and now - self._deaths[0] > self.restart_window_s:
                self._deaths.popleft()
            if fatal or len(self._deaths) > self.restart_limit:
                log.error("runtime dead for good: %s", self.last_error)
                self._set_state(RuntimeState.DEAD, self.last_error)
                return
            log.warning(
                "runtime died (%s); restarting (%d/%d)",
                self.last_error,
                len(self._deaths),
                self.restart_limit,
            )
            self._stopping.wait(self._delay())

    def _delay(self) -> float:
        """Before the next start. A remote runtime is reconnected with growing pauses (1, 2, 4 … 10 s),
        so that a network that drops for a few seconds does not use up the restarts at once."""
        if self.spec.remote is None:
            return self.restart_delay_s
        return min(10.0, max(1.0, self.restart_delay_s) * 2 ** max(0, len(self._deaths) - 1))

    def _run_one(self) -> bool:
        """Launch one runtime and watch it until it dies or we stop; True if the failure is fatal."""
        self._died.clear()
        client = RuntimeClient(
            self.spec, on_state=self._client_state, on_event=self._on_event, on_death=self._death
        )
        with self._lock:
            self._client = client
        self.launches += 1
        fatal = False
        try:
            hello = client.start()
        except RuntimeStartError as exc:
            self.last_error, fatal = str(exc), exc.fatal
        else:
            if self._on_ready is not None:
                self._on_ready(hello)
            self._died.wait()
        client.shutdown()
        with self._lock:
            self._client = None
        return fatal

    def _death(self, reason: str) -> None:
        self.last_error = reason
        if not self._stopping.is_set():
            # at once, so nobody submits to the dead client; the loop decides restart or give up
            self._set_state(RuntimeState.RESTARTING, reason)
        self._died.set()

    def _client_state(self, state: RuntimeState, detail: str) -> None:
        # the client's own starting/dead/stopped are the supervisor's business; ready/busy pass through
        if state in (RuntimeState.READY, RuntimeState.BUSY) and self._client is not None:
            self._set_state(state, detail)

    def _set_state(self, state: RuntimeState, detail: str) -> None:
        with self._ready:
            if state == self._state:
                return
            self._state = state
            self._ready.notify_all()
        if self._on_state is not None:
            try:
                self._on_state(state, detail)
            except Exception:
                log.exception("on_state callback failed")
