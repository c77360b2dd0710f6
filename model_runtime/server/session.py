"""One authenticated client: its reading loop, its outbox, its jobs (DESIGN.md §4).

The reading thread answers requests (so ``ping`` is answered while a job runs); the outbox's writer thread
sends. Bad input of any kind gets an ``error_reply`` and the connection stays usable. What is logged and
echoed of a bad message is capped (an excerpt of a type, no oversized ids), so junk cannot grow the log or
the replies without bound.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from model_runtime.engines.base import EngineError
from model_runtime.server import facts, runners
from model_runtime.server.outbox import Outbox
from model_runtime.server.worker import Job
from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import Message, MessageError, decode_message, make_message
from vivid_desktop.protocol.wire import MAX_FRAME_BYTES, ConnectionClosed, FrameReader, FrameTooLarge

if TYPE_CHECKING:
    from model_runtime.server.app import RuntimeServer

log = logging.getLogger("vivid.runtime")

#: How long a leaving client's running job gets to notice its cancel flag.
STOP_GRACE_S = 2.0
#: Longest msg_id echoed as a reply's parent_id; longer ones are no id a real client sends.
MAX_ECHO_ID = 128
#: Longest excerpt of an unknown type name (or other peer-chosen text) that is logged or echoed.
MAX_EXCERPT = 80

#: An extra handler for one message type: (session, message) → None (it replies itself).
Handler = Callable[["ClientSession", Message], None]


def excerpt(text: object, limit: int = MAX_EXCERPT) -> str:
    """``repr`` of peer-chosen text, cut to ``limit`` characters with the full length named."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


def echo_id(msg_id: str | None) -> str | None:
    return msg_id if msg_id is not None and len(msg_id) <= MAX_ECHO_ID else None


class ClientSession:
    """Serves one connection until the peer leaves or asks for ``shutdown``."""

    def __init__(self, server: RuntimeServer, conn: socket.socket, name: str) -> None:
        self.server = server
        self.conn = conn
        self.name = name  # a short label for the log
        self.id = name
        self.session = server.session
        self.outbox = Outbox(conn, on_broken=self.close)
        self.closed = threading.Event()
        self.handlers: dict[str, Handler] = {}
        #: rewrites a job request before it is checked (remote sessions map uploads and render folders)
        self.localize: Callable[[str, BaseModel], BaseModel] | None = None
        #: rewrites an outgoing job event (remote sessions turn server paths back into references)
        self.publish: Callable[[BaseModel], BaseModel] | None = None
        self.on_closed: Callable[[ClientSession], None] | None = None

    def start(self, hello: Message) -> None:
        self.outbox.start()
        self.reply(hello, self.server.hello_reply())

    def run(self) -> None:
        """Read and dispatch until the connection closes or the client asks for ``shutdown``."""
        reader = FrameReader(self.conn, MAX_FRAME_BYTES)
        while not self.closed.is_set():
            try:
                body = reader.read_body()
            except FrameTooLarge as exc:
                self.error(None, "frame_too_large", str(exc))
                continue
            except ConnectionClosed:
                log.info("client %s went away", self.name)
                break
            self.handle_body(body)
        self.close()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        jobs = self.server.jobs
        jobs.cancel_owner(self.id)
        # its running job gets a moment to notice the flag, so that its terminal event still goes out
        jobs.wait_owner(self.id, STOP_GRACE_S)
        self.outbox.close(timeout=2.0)
        if self.on_closed is not None:
            self.on_closed(self)
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.conn.close()

    # ---- messages ------------------------------------------------------------------------------

    def handle_body(self, body: bytes) -> None:
        try:
            msg = decode_message(body)
        except MessageError as exc:
            log.warning("bad message (%s): %s", exc.code, exc.message[:300])
            if not (exc.msg_type or "").endswith("_reply"):
                self.error(echo_id(exc.msg_id), exc.code, exc.message[:500])
            return
        try:
            self.dispatch(msg)
        except Exception as exc:  # a bug in a handler must not take the runtime down
            log.exception("handling %s failed", excerpt(msg.msg_type))
            self.error(echo_id(msg.msg_id), "internal_error", f"{type(exc).__name__}: {str(exc)[:300]}")

    def dispatch(self, msg: Message) -> None:
        kind, content = msg.msg_type, msg.content
        if kind in self.handlers:
            self.handlers[kind](self, msg)
        elif isinstance(content, m.Ping):
            self.reply(msg, m.Pong())
        elif isinstance(content, m.Hello):
            self.reply(msg, self.server.hello_reply())
        elif isinstance(content, m.Status):
            self.reply(msg, self._status())
        elif isinstance(content, m.RuntimeFactsRequest):
            threading.Thread(target=self._facts, args=(msg,), name="vivid-runtime-facts", daemon=True).start()
        elif isinstance(content, m.Cancel):
            log.info("cancel %s requested", excerpt(content.job_id))
            self._cancel(msg, content)
        elif isinstance(content, m.Shutdown):
            log.info("shutdown requested by %s", self.name)
            self.reply(msg, m.ShutdownReply())
            self.server.client_asked_shutdown(self)
        elif kind in m.JOB_TYPES and kind in runners.RUNNERS:
            self._submit(msg)
        elif kind.endswith("_reply") or kind in m.JOB_EVENT_TYPES:
            log.info("ignoring %s from the client", excerpt(kind))
        else:
            log.warning("ignoring unknown message type %s", excerpt(kind))
            self.error(
                echo_id(msg.msg_id), "unknown_message_type", f"this runtime does not know {excerpt(kind)}"
            )

    def _submit(self, msg: Message) -> None:
        jobs = self.server.jobs
        reply_cls = m.MESSAGE_TYPES[m.REPLY_TYPES[msg.msg_type]]
        job_id = msg.job_id or msg.msg_id
        if len(job_id) > MAX_ECHO_ID:
            error = m.ErrorInfo(code="bad_request", message=f"job id too long: {excerpt(job_id)}")
            self.reply(msg, reply_cls(ok=False, error=error, job_id=""))
            return
        if jobs.knows((self.id, job_id)):
            error = m.ErrorInfo(code="duplicate_job", message=f"job {job_id} already exists")
            self.reply(msg, reply_cls(ok=False, error=error, job_id=job_id))
            return
        try:
            request = self.localize(msg.msg_type, msg.content) if self.localize else msg.content
            runners.check_request(msg.msg_type, request)
        except EngineError as exc:
            error = m.ErrorInfo(code=exc.code, message=exc.message)
            self.reply(msg, reply_cls(ok=False, error=error, job_id=job_id))
            return
        job = Job(job_id=job_id, kind=msg.msg_type, request=request, parent_id=msg.msg_id, owner=self.id)
        # the reply goes out before the job can emit anything: submit after queueing the reply
        self.reply(msg, reply_cls(job_id=job_id, position=jobs.ahead()), job_id=job_id)
        jobs.submit(job)

    def _cancel(self, msg: Message, content: m.Cancel) -> None:
        outcome = self.server.jobs.cancel((self.id, content.job_id))
        if outcome is None:
            error = m.ErrorInfo(
                code="unknown_job", message=f"no queued or running job {excerpt(content.job_id)}"
            )
            self.reply(msg, m.CancelReply(ok=False, error=error, job_id=echo_id(content.job_id) or ""))
        else:
            self.reply(msg, m.CancelReply(job_id=content.job_id, outcome=outcome))  # type: ignore[arg-type]

    def _status(self) -> m.StatusReply:
        current, waiting = self.server.jobs.snapshot(self.id)
        busy = not self.server.jobs.idle()
        return m.StatusReply(
            state="busy" if busy else "idle",
            current_job=current.job_id if current else None,
            current_kind=current.kind if current else None,
            queued=waiting,
            uptime_s=self.server.uptime(),
            facts=facts.known_facts(),
        )

    def _facts(self, msg: Message) -> None:
        self.reply(msg, m.RuntimeFactsReply(facts=facts.torch_facts()))

    # ---- sending -------------------------------------------------------------------------------

    def reply(
        self, request: Message, content: BaseModel, job_id: str | None = None, buffers: tuple[bytes, ...] = ()
    ) -> None:
        self.outbox.put(
            make_message(
                content,
                session=self.session,
                parent_id=echo_id(request.msg_id),
                job_id=job_id or echo_id(request.job_id),
                buffers=buffers,
            )
        )

    def error(self, parent_id: str | None, code: str, message: str) -> None:
        content = m.ErrorReply(error=m.ErrorInfo(code=code, message=message))
        self.outbox.put(make_message(content, session=self.session, parent_id=parent_id))

    def emit(
        self, content: BaseModel, job: Job, buffers: tuple[bytes, ...], merge_key: object, strippable: bool
    ) -> None:
        if self.publish is not None:
            content = self.publish(content)
        msg = make_message(
            content, session=self.session, parent_id=job.parent_id, job_id=job.job_id, buffers=buffers
        )
        self.outbox.put(msg, merge_key=merge_key, strippable=strippable)
