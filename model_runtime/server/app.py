"""The runtime server: the gate, the handshake, one job queue, and the client sessions (DESIGN.md §4).

Two ways to serve:

- :meth:`RuntimeServer.serve_local`: the editor's own runtime. One client (the one that knows the
  per-launch secret); after it is in, the listener closes; when it leaves, the process exits.
- :meth:`RuntimeServer.serve_remote`: ``vivid-runtime serve`` on a GPU server. Any number of clients that
  know the token, each with its own jobs; they share the one job queue (one GPU, one job at a time).

Threads: the main thread accepts; each connection's handshake runs on its own thread with a deadline
(:mod:`.gate`); each session reads on its own thread; the job thread runs engines (:mod:`.worker`).
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable

from pydantic import BaseModel

from model_runtime.engines import engine_infos
from model_runtime.server import facts, runners
from model_runtime.server.gate import Gate, Listener, check_preamble, set_deadline
from model_runtime.server.session import STOP_GRACE_S, ClientSession, excerpt
from model_runtime.server.worker import Job, JobQueue
from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import (
    Message,
    MessageError,
    decode_message,
    encode_message,
    make_message,
    new_id,
)
from vivid_desktop.protocol.transport import secret_digest
from vivid_desktop.protocol.version import FEATURES, PROTOCOL_VERSION, ProtocolVersionError, check_compatible
from vivid_desktop.protocol.wire import (
    MAX_HANDSHAKE_FRAME_BYTES,
    ConnectionClosed,
    FrameReader,
    FrameTooLarge,
)

log = logging.getLogger("vivid.runtime")


EXIT_OK, EXIT_NO_CLIENT, EXIT_VERSION = 0, 2, 3

#: What the handshake found: an admitted client's hello, or why not.
VERSION_MISMATCH = "version"


class RuntimeServer:
    """Engines, the job queue and the sessions of one runtime process."""

    def __init__(self, secret: str, features: tuple[str, ...] = FEATURES) -> None:
        self._secret = secret.encode()
        self._digest = secret_digest(secret)
        self.session = new_id()
        self.features = features
        self._engines = [m.EngineDescription(**{**vars(i), "tasks": list(i.tasks)}) for i in engine_infos()]
        self._cheap = facts.cheap_facts()
        self._born = time.monotonic()
        self._sessions: dict[str, ClientSession] = {}
        self._lock = threading.Lock()
        self._names = itertools.count(1)
        self.shutdown = threading.Event()
        self.jobs = JobQueue(self._emit, runners.RUNNERS)
        #: prepares each new session (remote serving adds uploads and path rules)
        self.on_session: Callable[[ClientSession], None] | None = None
        self.local = True

    def uptime(self) -> float:
        return round(time.monotonic() - self._born, 3)

    def hello_reply(self, ok: bool = True, error: m.ErrorInfo | None = None) -> m.HelloReply:
        return m.HelloReply(
            ok=ok,
            error=error,
            protocol=PROTOCOL_VERSION,
            engines=self._engines,
            features=list(self.features),
            **self._cheap,
        )

    # ---- the handshake (on the connection's own thread, under its deadline) ---------------------

    def handshake(self, conn: socket.socket, deadline: float) -> Message | str | None:
        """The preamble (secret digest, before anything else is read), then ``hello``.

        Returns the good ``hello``, :data:`VERSION_MISMATCH` (answered), or None (closed without a word).
        """
        if not check_preamble(conn, self._digest):
            log.warning("handshake failed: wrong secret")
            return None
        set_deadline(conn, deadline)
        try:
            msg = decode_message(
                FrameReader(conn, MAX_HANDSHAKE_FRAME_BYTES, skip_oversized=False).read_body()
            )
        except (ConnectionClosed, MessageError, FrameTooLarge) as exc:
            log.warning("handshake failed: %s", str(exc)[:200])
            return None
        if not isinstance(msg.content, m.Hello):
            log.warning("handshake failed: first message is %s, not hello", excerpt(msg.msg_type))
            return None
        if not hmac.compare_digest(msg.content.secret.encode(), self._secret):
            log.warning("handshake failed: wrong secret in hello")
            return None
        try:
            check_compatible(msg.content.protocol)
        except ProtocolVersionError as exc:
            log.error("%s", exc)
            error = m.ErrorInfo(code="protocol_mismatch", message=str(exc))
            reply = make_message(
                self.hello_reply(ok=False, error=error), session=self.session, parent_id=msg.msg_id[:128]
            )
            with contextlib.suppress(OSError):
                conn.sendall(encode_message(reply))
            return VERSION_MISMATCH
        return msg

    # ---- serving -------------------------------------------------------------------------------

    def serve_local(self, listener: Listener, accept_timeout: float) -> int:
        """Admit the first client with the secret, close the listener, serve it; the exit code."""
        admitted: queue.Queue[tuple[socket.socket, Message | str]] = queue.Queue()
        gate = Gate[Message | str](listener, self.handshake, lambda conn, hello: admitted.put((conn, hello)))
        deadline = time.monotonic() + accept_timeout
        try:
            while admitted.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.error("no client completed the handshake within %.0f s", accept_timeout)
                    return EXIT_NO_CLIENT
                gate.accept_once(min(remaining, 0.1))
            conn, hello = admitted.get()
        finally:
            gate.close()  # one client: the socket file is gone before the client hears back
        if not isinstance(hello, Message):
            conn.close()
            return EXIT_VERSION
        self.jobs.start()
        session = self._open_session(conn, hello)
        session.run()  # its close() gave the running job its grace already
        return self._stop_jobs(0.5)

    def serve_remote(self, listener: Listener, stop: threading.Event | None = None) -> int:
        """Admit every client with the token, each on its own session thread, until ``stop``."""
        self.local = False
        stop = stop or self.shutdown
        gate = Gate[Message | str](listener, self.handshake, self._admit_remote)
        self.jobs.start()
        log.info("serving on %s (%s)", listener.endpoint, listener.endpoint.kind)
        try:
            while not stop.is_set():
                gate.accept_once(0.2)
        finally:
            gate.close()
            with self._lock:
                sessions = list(self._sessions.values())
            for session in sessions:
                session.close()
        return self._stop_jobs()

    def _admit_remote(self, conn: socket.socket, hello: Message | str) -> None:
        if not isinstance(hello, Message):
            conn.close()
            return
        session = self._open_session(conn, hello)
        threading.Thread(target=session.run, name=f"vivid-session-{session.name}", daemon=True).start()

    def _open_session(self, conn: socket.socket, hello: Message) -> ClientSession:
        name = f"c{next(self._names)}"
        session = ClientSession(self, conn, name)
        if self.on_session is not None:
            self.on_session(session)
        with self._lock:
            self._sessions[session.id] = session
        session.on_closed = self._forget
        session.start(hello)
        assert isinstance(hello.content, m.Hello)
        log.info(
            "client %s: %s %s connected",
            name,
            excerpt(hello.content.client, 40),
            excerpt(hello.content.client_version, 40),
        )
        return session

    def _forget(self, session: ClientSession) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def client_asked_shutdown(self, session: ClientSession) -> None:
        """``shutdown`` ends the process for the local client, only the connection for a remote one."""
        if self.local:
            self.shutdown.set()
        session.closed.set()  # the reading loop ends after this message

    def _stop_jobs(self, grace: float = STOP_GRACE_S) -> int:
        stopped = self.jobs.stop(grace)
        if not stopped:
            log.warning("the running job ignored its cancel flag; leaving it behind")
            os._exit(EXIT_OK)  # a job stuck in native code must not keep the process alive
        return EXIT_OK

    def _emit(
        self, content: BaseModel, job: Job, buffers: tuple[bytes, ...], merge_key: object, strippable: bool
    ) -> None:
        with self._lock:
            session = self._sessions.get(job.owner)
        if session is not None and not session.closed.is_set():
            session.emit(content, job, buffers, merge_key, strippable)
