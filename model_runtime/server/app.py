"""The runtime server: one client, a handshake, a reading loop, one job queue (DESIGN.md §4).

Threads: the main thread reads and answers requests (so ``ping`` is answered while a job runs), the
writer thread sends (:mod:`.outbox`), the job thread runs engines (:mod:`.worker`), and a short-lived
thread gathers torch facts on request. Bad input of any kind gets an ``error_reply`` and the connection
stays usable; only a closed connection or ``shutdown`` ends the process.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import socket
import threading
import time
from pathlib import Path

from pydantic import BaseModel

from model_runtime.engines import engine_infos
from model_runtime.engines.base import EngineError
from model_runtime.server import facts, runners
from model_runtime.server.outbox import Outbox
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
from vivid_desktop.protocol.version import FEATURES, PROTOCOL_VERSION, ProtocolVersionError, check_compatible
from vivid_desktop.protocol.wire import (
    MAX_FRAME_BYTES,
    MAX_HANDSHAKE_FRAME_BYTES,
    ConnectionClosed,
    FrameReader,
    FrameTooLarge,
)

log = logging.getLogger("vivid.runtime")

HANDSHAKE_TIMEOUT_S = 5.0
#: How long a shutdown waits for the running job to notice its cancel flag.
STOP_GRACE_S = 2.0

EXIT_OK, EXIT_NO_CLIENT, EXIT_VERSION = 0, 2, 3


def listen(path: Path) -> socket.socket:
    """A Unix socket at ``path`` that only this user can open (0600, in a 0700 folder)."""
    if path.parent.stat().st_mode & 0o077:
        raise PermissionError(f"socket folder {path.parent} must be private (0700)")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(1)
    return sock


class RuntimeServer:
    """Serves one authenticated client until it leaves or asks for ``shutdown``."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self.session = new_id()
        self._engines = [m.EngineDescription(**{**vars(i), "tasks": list(i.tasks)}) for i in engine_infos()]
        self._cheap = facts.cheap_facts()
        self._born = time.monotonic()
        self._shutdown = threading.Event()
        self._outbox: Outbox | None = None
        self._jobs: JobQueue | None = None

    # ---- connection ----------------------------------------------------------------------------

    def serve(self, listener: socket.socket, socket_path: Path, accept_timeout: float) -> int:
        """Accept until one client passes the handshake, then serve it. Returns the exit code."""
        deadline = time.monotonic() + accept_timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.error("no client completed the handshake within %.0f s", accept_timeout)
                    return EXIT_NO_CLIENT
                listener.settimeout(remaining)
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                hello = self._handshake(conn)
                if isinstance(hello, Message):
                    break
                conn.close()
                if hello == "version":
                    return EXIT_VERSION
        finally:
            listener.close()  # one client: nobody else may connect after it
            socket_path.unlink(missing_ok=True)
        # the socket file is gone before the client hears back
        conn.settimeout(None)
        self._outbox = Outbox(conn, on_broken=self._shutdown.set)
        self._outbox.start()
        self._reply(hello, self._hello_reply())
        assert isinstance(hello.content, m.Hello)
        log.info("client %s %s connected", hello.content.client, hello.content.client_version)
        return self._session(conn)

    def _handshake(self, conn: socket.socket) -> Message | str:
        """The client's good ``hello``, or why not: ``bad`` (closed without a word) or ``version``."""
        conn.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            msg = decode_message(
                FrameReader(conn, MAX_HANDSHAKE_FRAME_BYTES, skip_oversized=False).read_body()
            )
        except (ConnectionClosed, MessageError, FrameTooLarge, OSError) as exc:
            log.warning("handshake failed: %s", exc)
            return "bad"
        if not isinstance(msg.content, m.Hello):
            log.warning("handshake failed: first message is %r, not hello", msg.msg_type)
            return "bad"
        if not hmac.compare_digest(msg.content.secret.encode(), self._secret):
            log.warning("handshake failed: wrong secret")
            return "bad"
        try:
            check_compatible(msg.content.protocol)
        except ProtocolVersionError as exc:
            log.error("%s", exc)
            error = m.ErrorInfo(code="protocol_mismatch", message=str(exc))
            reply = make_message(
                self._hello_reply(ok=False, error=error), session=self.session, parent_id=msg.msg_id
            )
            with contextlib.suppress(OSError):
                conn.sendall(encode_message(reply))
            return "version"
        return msg

    def _hello_reply(self, ok: bool = True, error: m.ErrorInfo | None = None) -> m.HelloReply:
        return m.HelloReply(
            ok=ok,
            error=error,
            protocol=PROTOCOL_VERSION,
            engines=self._engines,
            features=list(FEATURES),
            **self._cheap,
        )

    def _session(self, conn: socket.socket) -> int:
        assert self._outbox is not None
        self._jobs = JobQueue(self._emit, runners.RUNNERS)
        self._jobs.start()
        reader = FrameReader(conn, MAX_FRAME_BYTES)
        while not self._shutdown.is_set():
            try:
                body = reader.read_body()
            except FrameTooLarge as exc:
                self._error(None, "frame_too_large", str(exc))
                continue
            except ConnectionClosed:
                log.info("client went away")
                break
            self._handle_body(body)
        stopped = self._jobs.stop(STOP_GRACE_S)
        self._outbox.close(timeout=2.0)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()
        if not stopped:
            log.warning("the running job ignored its cancel flag; leaving it behind")
            os._exit(EXIT_OK)  # a job stuck in native code must not keep the process alive
        return EXIT_OK

    # ---- messages ------------------------------------------------------------------------------

    def _handle_body(self, body: bytes) -> None:
        try:
            msg = decode_message(body)
        except MessageError as exc:
            log.warning("bad message (%s): %s", exc.code, exc.message)
            if not (exc.msg_type or "").endswith("_reply"):
                self._error(exc.msg_id, exc.code, exc.message)
            return
        try:
            self._dispatch(msg)
        except Exception as exc:  # a bug in a handler must not take the runtime down
            log.exception("handling %s failed", msg.msg_type)
            self._error(msg.msg_id, "internal_error", f"{type(exc).__name__}: {exc}")

    def _dispatch(self, msg: Message) -> None:
        kind, content = msg.msg_type, msg.content
        if isinstance(content, m.Ping):
            self._reply(msg, m.Pong())
        elif isinstance(content, m.Hello):
            self._reply(msg, self._hello_reply())
        elif isinstance(content, m.Status):
            self._reply(msg, self._status())
        elif isinstance(content, m.RuntimeFactsRequest):
            threading.Thread(target=self._facts, args=(msg,), name="vivid-runtime-facts", daemon=True).start()
        elif isinstance(content, m.Cancel):
            log.info("cancel %s requested", content.job_id)
            self._cancel(msg, content)
        elif isinstance(content, m.Shutdown):
            log.info("shutdown requested")
            self._reply(msg, m.ShutdownReply())
            self._shutdown.set()
        elif kind in m.JOB_TYPES and kind in runners.RUNNERS:
            self._submit(msg)
        elif kind.endswith("_reply") or kind in m.JOB_EVENT_TYPES:
            log.info("ignoring %s from the client", kind)
        else:
            log.warning("ignoring unknown message type %r", kind)
            self._error(msg.msg_id, "unknown_message_type", f"this runtime does not know {kind!r}")

    def _submit(self, msg: Message) -> None:
        assert self._jobs is not None
        reply_cls = m.MESSAGE_TYPES[m.REPLY_TYPES[msg.msg_type]]
        job_id = msg.job_id or msg.msg_id
        if self._jobs.knows(job_id):
            error = m.ErrorInfo(code="duplicate_job", message=f"job {job_id} already exists")
            self._reply(msg, reply_cls(ok=False, error=error, job_id=job_id))
            return
        try:
            runners.check_request(msg.msg_type, msg.content)
        except EngineError as exc:
            self._reply(
                msg, reply_cls(ok=False, error=m.ErrorInfo(code=exc.code, message=exc.message), job_id=job_id)
            )
            return
        job = Job(job_id=job_id, kind=msg.msg_type, request=msg.content, parent_id=msg.msg_id)
        # the reply goes out before the job can emit anything: submit after queueing the reply
        self._reply(msg, reply_cls(job_id=job_id, position=self._jobs.ahead()), job_id=job_id)
        self._jobs.submit(job)

    def _cancel(self, msg: Message, content: m.Cancel) -> None:
        assert self._jobs is not None
        outcome = self._jobs.cancel(content.job_id)
        if outcome is None:
            error = m.ErrorInfo(code="unknown_job", message=f"no queued or running job {content.job_id}")
            self._reply(msg, m.CancelReply(ok=False, error=error, job_id=content.job_id))
        else:
            self._reply(msg, m.CancelReply(job_id=content.job_id, outcome=outcome))  # type: ignore[arg-type]

    def _status(self) -> m.StatusReply:
        assert self._jobs is not None
        current, waiting = self._jobs.snapshot()
        return m.StatusReply(
            state="busy" if current or waiting else "idle",
            current_job=current.job_id if current else None,
            current_kind=current.kind if current else None,
            queued=waiting,
            uptime_s=round(time.monotonic() - self._born, 3),
            facts=facts.known_facts(),
        )

    def _facts(self, msg: Message) -> None:
        self._reply(msg, m.RuntimeFactsReply(facts=facts.torch_facts()))

    # ---- sending -------------------------------------------------------------------------------

    def _reply(self, request: Message, content: BaseModel, job_id: str | None = None) -> None:
        assert self._outbox is not None
        self._outbox.put(
            make_message(
                content, session=self.session, parent_id=request.msg_id, job_id=job_id or request.job_id
            )
        )

    def _error(self, parent_id: str | None, code: str, message: str) -> None:
        assert self._outbox is not None
        content = m.ErrorReply(error=m.ErrorInfo(code=code, message=message))
        self._outbox.put(make_message(content, session=self.session, parent_id=parent_id))

    def _emit(
        self, content: BaseModel, job: Job, buffers: tuple[bytes, ...], merge_key: object, strippable: bool
    ) -> None:
        assert self._outbox is not None
        msg = make_message(
            content, session=self.session, parent_id=job.parent_id, job_id=job.job_id, buffers=buffers
        )
        self._outbox.put(msg, merge_key=merge_key, strippable=strippable)
