"""The JSON envelope around every message, the one factory that builds messages, and (de)coding.

Envelope: ``{"header": {msg_id, msg_type, protocol, session, sent_at}, "parent_id", "job_id",
"content"}``. ``parent_id`` is the ``msg_id`` of the request a reply or event answers; ``job_id`` names
the job an event belongs to. Nothing is ever unpickled: decoding is ``json.loads`` and pydantic validation.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from vivid_desktop.protocol.messages import MESSAGE_TYPES
from vivid_desktop.protocol.version import PROTOCOL_VERSION
from vivid_desktop.protocol.wire import FrameError, decode_body, encode_frame


class MessageError(ValueError):
    """A frame that is not a valid message. ``msg_id``/``msg_type`` are set when they could be read."""

    def __init__(self, code: str, message: str, msg_id: str | None = None, msg_type: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.msg_id = msg_id
        self.msg_type = msg_type


class Header(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    msg_id: str
    msg_type: str
    protocol: str
    session: str
    sent_at: str


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    header: Header
    parent_id: str | None = None
    job_id: str | None = None
    content: dict[str, Any]


class UnknownContent(BaseModel):
    """Content of a message type this side does not know (kept, logged, never acted on)."""

    model_config = ConfigDict(extra="allow", frozen=True)


@dataclass(frozen=True)
class Message:
    """A message as both sides handle it: header, typed content and binary buffers."""

    header: Header
    content: BaseModel
    parent_id: str | None = None
    job_id: str | None = None
    buffers: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def msg_type(self) -> str:
        return self.header.msg_type

    @property
    def msg_id(self) -> str:
        return self.header.msg_id

    @property
    def known(self) -> bool:
        return not isinstance(self.content, UnknownContent)

    def to_json(self) -> dict[str, Any]:
        """The envelope as plain JSON data (what goes on the wire, buffers aside)."""
        return {
            "header": self.header.model_dump(),
            "parent_id": self.parent_id,
            "job_id": self.job_id,
            "content": self.content.model_dump(mode="json"),
        }


_TYPE_OF: dict[type[BaseModel], str] = {}


def msg_type_of(content: BaseModel) -> str:
    """The ``msg_type`` whose content class is ``type(content)``."""
    cls = type(content)
    if cls not in _TYPE_OF or MESSAGE_TYPES.get(_TYPE_OF[cls]) is not cls:
        _TYPE_OF.update({c: t for t, c in MESSAGE_TYPES.items()})
    try:
        return _TYPE_OF[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a registered message content") from None


def now_iso() -> str:
    """UTC time with milliseconds, ISO 8601 with a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


def make_message(
    content: BaseModel,
    *,
    session: str,
    parent_id: str | None = None,
    job_id: str | None = None,
    buffers: tuple[bytes, ...] | list[bytes] = (),
    msg_id: str | None = None,
    sent_at: str | None = None,
) -> Message:
    """The one factory: wrap typed ``content`` in a header (the type comes from the content's class)."""
    header = Header(
        msg_id=msg_id or new_id(),
        msg_type=msg_type_of(content),
        protocol=PROTOCOL_VERSION,
        session=session,
        sent_at=sent_at or now_iso(),
    )
    return Message(header, content, parent_id, job_id, tuple(bytes(b) for b in buffers))


def encode_message(message: Message) -> bytes:
    """The whole frame (length prefix included) for ``message``."""
    payload = json.dumps(message.to_json(), separators=(",", ":"), ensure_ascii=False).encode()
    return encode_frame(payload, message.buffers)


def decode_message(body: bytes) -> Message:
    """Parse a frame body into a :class:`Message` with typed content; raise :class:`MessageError`.

    A message of an unknown type decodes with :class:`UnknownContent` (the caller logs and ignores it).
    """
    try:
        payload, buffers = decode_body(body)
    except FrameError as exc:
        raise MessageError("bad_frame", str(exc)) from None
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MessageError("bad_json", f"frame is not UTF-8 JSON: {exc}") from None
    return parse_envelope(data, buffers)


def parse_envelope(data: Any, buffers: list[bytes] | tuple[bytes, ...] = ()) -> Message:
    """Validate decoded JSON as an envelope and its content; raise :class:`MessageError`."""
    try:
        env = _Envelope.model_validate(data)
    except (ValidationError, RecursionError) as exc:
        msg_id, msg_type = _salvage_ids(data)
        raise MessageError("bad_envelope", _short(exc), msg_id, msg_type) from None
    header = env.header
    cls = MESSAGE_TYPES.get(header.msg_type)
    try:
        content = cls.model_validate(env.content) if cls else UnknownContent.model_validate(env.content)
    except (ValidationError, RecursionError) as exc:
        raise MessageError(
            "invalid_content", f"{header.msg_type}: {_short(exc)}", header.msg_id, header.msg_type
        ) from None
    return Message(header, content, env.parent_id, env.job_id, tuple(buffers))


def _salvage_ids(data: Any) -> tuple[str | None, str | None]:
    """Best effort: the msg_id/msg_type of a broken envelope, so the error reply can name its parent."""
    header = data.get("header") if isinstance(data, dict) else None
    if not isinstance(header, dict):
        return None, None
    msg_id, msg_type = header.get("msg_id"), header.get("msg_type")
    return (
        msg_id if isinstance(msg_id, str) and len(msg_id) <= 200 else None,
        msg_type if isinstance(msg_type, str) and len(msg_type) <= 200 else None,
    )


def _short(exc: Exception, limit: int = 500) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]]
        text = "; ".join(parts)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
