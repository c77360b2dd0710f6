"""The runtime protocol: the one part of ``model_runtime`` the GUI imports (stdlib + pydantic only).

See docs/protocol.md. Modules: :mod:`.version` (PROTOCOL_VERSION, compatibility), :mod:`.wire`
(length-prefixed frames), :mod:`.messages` (one typed class per message), :mod:`.envelope` (the envelope,
the factory :func:`make_message`, encoding and decoding), :mod:`.jobs` (job request schemas),
:mod:`.transport` (Unix socket, loopback TCP, TLS; the secret preamble), :mod:`.uploads` (a remote
runtime's uploads and file fetches).
"""

from vivid_desktop.protocol import uploads as _uploads  # noqa: F401 - registers the upload messages
from vivid_desktop.protocol.envelope import (
    Header,
    Message,
    MessageError,
    UnknownContent,
    decode_message,
    encode_message,
    make_message,
    parse_envelope,
)
from vivid_desktop.protocol.messages import (
    JOB_EVENT_TYPES,
    JOB_TYPES,
    MESSAGE_TYPES,
    REPLY_TYPES,
    TERMINAL_TYPES,
)
from vivid_desktop.protocol.version import FEATURES, PROTOCOL_VERSION, ProtocolVersionError, check_compatible
from vivid_desktop.protocol.wire import MAX_FRAME_BYTES, ConnectionClosed, FrameError, FrameReader

__all__ = [
    "FEATURES",
    "JOB_EVENT_TYPES",
    "JOB_TYPES",
    "MAX_FRAME_BYTES",
    "MESSAGE_TYPES",
    "PROTOCOL_VERSION",
    "REPLY_TYPES",
    "TERMINAL_TYPES",
    "ConnectionClosed",
    "FrameError",
    "FrameReader",
    "Header",
    "Message",
    "MessageError",
    "ProtocolVersionError",
    "UnknownContent",
    "check_compatible",
    "decode_message",
    "encode_message",
    "make_message",
    "parse_envelope",
]
