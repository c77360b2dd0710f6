"""The Qt-free runtime client: one runtime process, its connection, heartbeat, requests and jobs.

See the package docstring for the threading model and the callback API.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from pydantic import BaseModel

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import (
    Message,
    MessageError,
    decode_message,
    encode_message,
    make_message,
)
from vivid_desktop.protocol.envelope import new_id as _new_id
from vivid_desktop.protocol.wire import MAX_FRAME_BYTES, ConnectionClosed, FrameReader, FrameTooLarge
from vivid_desktop.runtime_client.errors import (
    NotReady,
    RequestFailed,
    RequestTimeout,
    RuntimeDied,
    RuntimeStartError,
)
from vivid_desktop.runtime_client.jobs import EventCallback, Job
from vivid_desktop.runtime_client.launch import Launched, LaunchSpec, RemoteLink, connect, handshake, spawn

if TYPE_CHECKING:
    from vivid_desktop.runtime_client.remote import RemoteJobs

log = logging.getLogger(__name__)


class RuntimeState(enum.StrEnum):
    STARTING = "starting"
    READY = "ready"
    BUSY = "busy"
    RESTARTING = "restarting"
    DEAD = "dead"
    STOPPED = "stopped"


StateCallback = Callable[[RuntimeState, str], None]


class RuntimeClient:
    """Spawns one runtime and talks to it. Not restartable: the :class:`Supervisor` makes a new one."""

    def __init__(
        self,
        spec: LaunchSpec | None = None,
        *,
        on_state: StateCallback | None = None,
        on_event: EventCallback | None = None,
        on_death: Callable[[str], None] | None = None,
    ) -> None:
        self.spec = spec or LaunchSpec()
        self.session = _new_id()
        self._on_state, self._on_event, self._on_death = on_state, on_event, on_death
        self._lock = threading.RLock()
        self._state = RuntimeState.STOPPED
        self._launched: Launched | RemoteLink | None = None
        self._sock: socket.socket | None = None
        self._pending: dict[str, Future[Message]] = {}
        self._jobs: dict[str, Job] = {}
        self._threads: list[threading.Thread] = []
        #: frames to send; one writer thread sends them, so no caller ever blocks on a full socket
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._stopping = False
        self._dead_reason = ""
        self.hello: m.HelloReply | None = None
        self.last_pong = 0.0
        self._remote: RemoteJobs | None = None

    # ---- life cycle ----------------------------------------------------------------------------

    @property
    def state(self) -> RuntimeState:
        return self._state

    @property
    def dead_reason(self) -> str:
        return self._dead_reason

    @property
    def pid(self) -> int | None:
        return self._launched.pid if self._launched else None

    def start(self) -> m.HelloReply:
        """Spawn, connect, handshake; then the reader and heartbeat threads run. Blocks until ready."""
        if self._launched is not None:
            raise RuntimeError("a RuntimeClient starts once; make a new one")
        self._set_state(RuntimeState.STARTING)
        spec = self.spec
        try:
            self._launched = spawn(spec)
            self._sock = connect(self._launched, spec.start_timeout)
            self.hello = handshake(self._sock, self._launched, self.session, spec.handshake_timeout)
            if spec.remote is not None:
                self._remote = self._remote_jobs(self.hello)
        except RuntimeStartError as exc:
            self._dead_reason = str(exc)
            self._kill_and_cleanup()
            self._set_state(RuntimeState.DEAD, str(exc))
            raise
        self.last_pong = time.monotonic()
        loops = (
            (self._read_loop, "reader"),
            (self._write_loop, "writer"),
            (self._heartbeat_loop, "heartbeat"),
        )
        for target, name in loops:
            thread = threading.Thread(target=target, name=f"vivid-client-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()
        self._set_state(RuntimeState.READY, only_from=RuntimeState.STARTING)  # it may have died already
        return self.hello

    def _remote_jobs(self, hello: m.HelloReply) -> RemoteJobs:
        from vivid_desktop.protocol.uploads import UPLOADS_FEATURE
        from vivid_desktop.runtime_client.remote import RemoteJobs

        if UPLOADS_FEATURE not in hello.features:
            label = self._launched.label if self._launched else "the runtime"
            raise RuntimeStartError(f"{label} takes no uploads: is it `vivid-runtime serve`?", fatal=True)
        return RemoteJobs(self)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def shutdown(self, timeout: float | None = None) -> str:
        """Stop the runtime: ``shutdown`` request → terminate → kill. Returns the rung that worked.

        Joins every thread of this client. Safe to call more than once and after a death.
        """
        with self._lock:
            if self._stopping:
                return "already_stopped"
            self._stopping = True
        spec = self.spec
        rung = "none"
        launched = self._launched
        if launched is not None and launched.exit_code() is None:
            rung = self._ladder(launched, timeout if timeout is not None else spec.shutdown_timeout)
        self._stop.set()
        self._outbox.put(None)
        self._close_socket()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5.0)
        self._abandon_all("the runtime was shut down", cancelled=True)
        if launched is not None:
            launched.cleanup()
        self._set_state(RuntimeState.STOPPED)
        return rung

    close = shutdown

    def _ladder(self, launched: Launched | RemoteLink, timeout: float) -> str:
        alive = self._sock is not None and self._state not in (RuntimeState.DEAD, RuntimeState.STOPPED)
        if isinstance(launched, RemoteLink):
            # a shared server: ``shutdown`` ends this connection (and its jobs) only
            if alive:
                with contextlib.suppress(Exception):
                    self._request_message(m.Shutdown()).result(min(2.0, timeout))
            return "disconnect"
        if alive:
            with contextlib.suppress(Exception):
                self._request_message(m.Shutdown()).result(min(1.0, timeout))
            if launched.wait_exit(timeout) is not None:
                return "request"
        launched.terminate()
        if launched.wait_exit(self.spec.terminate_timeout) is not None:
            return "terminate"
        launched.kill()
        return "kill"

    # ---- requests ------------------------------------------------------------------------------

    def request(self, content: BaseModel, timeout: float | None = None) -> BaseModel:
        """Send a request and return its reply's content; :class:`RequestFailed` if it is an error."""
        return self.request_message(content, (), timeout).content

    def request_message(
        self, content: BaseModel, buffers: tuple[bytes, ...] = (), timeout: float | None = None
    ) -> Message:
        """Send a request (with binary ``buffers``) and return the whole reply message."""
        future = self._send_request(make_message(content, session=self.session, buffers=buffers))
        try:
            reply = future.result(timeout if timeout is not None else self.spec.request_timeout)
        except FutureTimeout:
            raise RequestTimeout(f"no reply to {type(content).__name__} in time") from None
        error = getattr(reply.content, "error", None)
        if not getattr(reply.content, "ok", True) and error is not None:
            raise RequestFailed(error.code, error.message, reply.content)
        return reply

    def request_async(self, content: BaseModel) -> Future[Message]:
        """Send a request; the future resolves to the reply message (or fails with RuntimeDied)."""
        return self._request_message(content)

    def ping(self, timeout: float | None = None) -> float:
        """Round-trip time of one ping, in seconds."""
        t0 = time.monotonic()
        self.request(m.Ping(), timeout)
        return time.monotonic() - t0

    def status(self, timeout: float | None = None) -> m.StatusReply:
        reply = self.request(m.Status(), timeout)
        assert isinstance(reply, m.StatusReply)
        return reply

    def runtime_facts(self, timeout: float = 120.0) -> m.RuntimeFacts | None:
        """torch / CUDA / GPU facts (the runtime imports torch for this the first time)."""
        reply = self.request(m.RuntimeFactsRequest(), timeout)
        assert isinstance(reply, m.RuntimeFactsReply)
        return reply.facts

    def submit(
        self, request: BaseModel, on_event: EventCallback | None = None, job_id: str | None = None
    ) -> Job:
        """Start a job (``EditKeyframeRequest``, ``TrackMasksRequest``, ``RenderPlan``...); never blocks.

        A refused request ends the job with a ``failed`` terminal event carrying the reply's error. On a
        remote runtime the job first uploads its inputs and fetches its results (:mod:`.remote`).
        """
        if self._remote is not None:
            with self._lock:
                self._check_alive()
            return self._remote.submit(request, on_event, job_id or _new_id())
        return self.submit_direct(request, on_event, job_id)

    def submit_direct(
        self, request: BaseModel, on_event: EventCallback | None = None, job_id: str | None = None
    ) -> Job:
        """Send a job request as it is (paths or, for a remote runtime, references)."""
        msg = make_message(request, session=self.session, job_id=job_id or _new_id())
        if msg.msg_type not in m.JOB_TYPES:
            raise TypeError(f"{type(request).__name__} does not start a job")
        job = Job(msg.job_id or "", msg.msg_type, request, self.cancel)
        if on_event is not None:
            job.add_callback(on_event)
        with self._lock:
            self._check_alive()
            self._jobs[job.job_id] = job
        self._update_busy()
        future = self._send_request(msg)
        future.add_done_callback(lambda f: self._job_reply(job, msg, f))
        return job

    def cancel(self, job_id: str) -> Future[Message] | None:
        """Ask the runtime to cancel ``job_id`` (fire and forget; the job's terminal event follows)."""
        try:
            return self._request_message(m.Cancel(job_id=job_id))
        except NotReady:
            return None

    def active_jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the runtime wrote to its log (stderr)."""
        return self._launched.log_tail(lines) if self._launched else ""

    # ---- sending -------------------------------------------------------------------------------

    def _request_message(self, content: BaseModel) -> Future[Message]:
        return self._send_request(make_message(content, session=self.session))

    def _send_request(self, msg: Message) -> Future[Message]:
        future: Future[Message] = Future()
        with self._lock:
            self._check_alive()
            self._pending[msg.msg_id] = future
        self._send(msg)
        return future

    def _check_alive(self) -> None:
        if self._sock is None or self._state in (
            RuntimeState.DEAD,
            RuntimeState.STOPPED,
            RuntimeState.STARTING,
        ):
            raise NotReady(
                f"the runtime is {self._state.value}"
                + (f": {self._dead_reason}" if self._dead_reason else "")
            )

    def _send(self, msg: Message) -> None:
        self._outbox.put(encode_message(msg))

    def _write_loop(self) -> None:
        while True:
            data = self._outbox.get()
            if data is None or self._stop.is_set():
                return
            try:
                assert self._sock is not None
                self._sock.sendall(data)
            except OSError as exc:
                self._lost(f"the connection to the runtime broke: {exc}", wait_exit=0.5)
                return

    def _job_reply(self, job: Job, request: Message, future: Future[Message]) -> None:
        exc = future.exception()
        if exc is not None:
            return  # death: _abandon_all already ended the job
        reply = future.result().content
        job.accepted = bool(getattr(reply, "ok", False))
        if not job.accepted:
            error = getattr(reply, "error", None) or m.ErrorInfo(code="refused", message="request refused")
            self._finish_locally(job, m.Failed(code=error.code, message=error.message), request.msg_id)

    def _finish_locally(self, job: Job, content: BaseModel, parent_id: str | None = None) -> None:
        self._deliver(
            job, make_message(content, session=self.session, job_id=job.job_id, parent_id=parent_id)
        )

    def _deliver(self, job: Job, msg: Message) -> None:
        if msg.msg_type in m.TERMINAL_TYPES:
            # bookkeeping first: when the job's waiters wake up, the client is already ready again
            with self._lock:
                self._jobs.pop(job.job_id, None)
            self._update_busy()
        job.deliver(msg)

    # ---- reading and heartbeat -----------------------------------------------------------------

    def _read_loop(self) -> None:
        assert self._sock is not None
        # a runtime that sends an oversized frame is broken: do not skip gigabytes, drop the connection
        reader = FrameReader(self._sock, MAX_FRAME_BYTES, skip_oversized=False)
        while not self._stop.is_set():
            try:
                body = reader.read_body()
                msg = decode_message(body)
            except FrameTooLarge as exc:
                self._lost(f"the runtime sent garbage ({exc})")
                return
            except MessageError as exc:
                log.warning("runtime sent a bad message (%s): %s", exc.code, exc.message)
                continue
            except (ConnectionClosed, OSError) as exc:
                self._lost(f"the runtime closed the connection ({exc})", wait_exit=0.5)
                return
            self._route(msg)

    def _route(self, msg: Message) -> None:
        if msg.msg_type == "pong":
            self.last_pong = time.monotonic()
        with self._lock:
            future = (
                self._pending.pop(msg.parent_id, None)
                if msg.parent_id and msg.msg_type.endswith(("_reply", "pong"))
                else None
            )
            job = self._jobs.get(msg.job_id) if msg.job_id and msg.msg_type in m.JOB_EVENT_TYPES else None
        if future is not None:
            future.set_result(msg)
        elif job is not None:
            self._deliver(job, msg)
        elif msg.msg_type == "pong":
            return  # a heartbeat answer
        elif msg.msg_type not in m.JOB_EVENT_TYPES or msg.job_id is None:
            if not msg.known:
                log.info("ignoring unknown message type %r from the runtime", msg.msg_type)
            if self._on_event is not None:
                try:
                    self._on_event(msg)
                except Exception:
                    log.exception("on_event callback failed")

    def _heartbeat_loop(self) -> None:
        spec = self.spec
        while not self._stop.wait(spec.heartbeat_interval):
            launched = self._launched
            assert launched is not None
            code = launched.exit_code()
            if code is not None:
                self._lost(f"the runtime exited (code {code})")
                return
            if time.monotonic() - self.last_pong > spec.heartbeat_timeout:
                self._lost(f"the runtime stopped answering (no pong for {spec.heartbeat_timeout:.1f} s)")
                return
            ping = make_message(m.Ping(), session=self.session)
            self._send(ping)

    # ---- death ---------------------------------------------------------------------------------

    def _lost(self, reason: str, wait_exit: float = 0.0) -> None:
        """The runtime is gone or hung: kill it, fail what waits on it, report once."""
        launched = self._launched
        if launched is not None and wait_exit > 0:
            # a closed connection usually means the process is exiting: name its exit code if we can
            with contextlib.suppress(Exception):
                launched.wait_exit(wait_exit)
        with self._lock:
            if self._state in (RuntimeState.DEAD, RuntimeState.STOPPED) or self._stopping:
                return
            code = launched.exit_code() if launched else None
            if code is not None and wait_exit > 0:
                reason = f"the runtime exited (code {code})"
            tail = launched.log_tail(1) if launched and code not in (None, 0) else ""
            self._dead_reason = reason + (f": {tail}" if tail else "")
            self._state = RuntimeState.DEAD
        if launched is not None and launched.exit_code() is None:
            launched.kill()  # hung: it will not come back by itself
        self._stop.set()
        self._outbox.put(None)
        self._close_socket()
        self._abandon_all(self._dead_reason, cancelled=False)
        self._notify_state(RuntimeState.DEAD, self._dead_reason)
        if self._on_death is not None:
            try:
                self._on_death(self._dead_reason)
            except Exception:
                log.exception("on_death callback failed")

    def _abandon_all(self, reason: str, cancelled: bool) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            jobs = list(self._jobs.values())
        for future in pending.values():
            if not future.done():
                future.set_exception(RuntimeDied(reason))
        for job in jobs:
            content = (
                m.Cancelled(message=reason) if cancelled else m.Failed(code="runtime_died", message=reason)
            )
            self._finish_locally(job, content)

    def _close_socket(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _kill_and_cleanup(self) -> None:
        self._close_socket()
        launched = self._launched
        if launched is not None:
            launched.kill()
            launched.cleanup()

    # ---- state ---------------------------------------------------------------------------------

    def _update_busy(self) -> None:
        with self._lock:
            if self._state not in (RuntimeState.READY, RuntimeState.BUSY):
                return
            new = RuntimeState.BUSY if self._jobs else RuntimeState.READY
            if new == self._state:
                return
            self._state = new
        self._notify_state(new, "")

    def _set_state(
        self, state: RuntimeState, detail: str = "", only_from: RuntimeState | None = None
    ) -> None:
        with self._lock:
            if state == self._state or (only_from is not None and self._state != only_from):
                return
            self._state = state
        self._notify_state(state, detail)

    def _notify_state(self, state: RuntimeState, detail: str) -> None:
        if self._on_state is not None:
            try:
                self._on_state(state, detail)
            except Exception:
                log.exception("on_state callback failed")
