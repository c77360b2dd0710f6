"""Length-prefixed frames: how a message travels over the socket.

A frame is ``u32 body_length`` followed by the body::

    body := u32 json_length | u16 buffer_count | u32 buffer_length * buffer_count | json | buffers...

All integers are big-endian. ``json`` is the UTF-8 JSON envelope; the buffers are raw bytes (preview
images), never base64 and never pickled. A frame longer than the reader's limit is refused; the reader
skips its bytes so that the stream stays in step and the connection stays usable.
"""

from __future__ import annotations

import socket
import struct

#: The default and the largest frame a peer accepts (previews are small; frames never travel).
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: Frames before the handshake is done are small; a stranger cannot make us buffer megabytes.
MAX_HANDSHAKE_FRAME_BYTES = 64 * 1024
MAX_BUFFERS = 16

_LEN = struct.Struct(">I")
_BODY_HEAD = struct.Struct(">IH")


class FrameError(ValueError):
    """A frame whose structure is wrong. The stream is still in step (the frame was read whole)."""


class FrameTooLarge(FrameError):
    """A frame over the limit; its bytes were skipped."""


class ConnectionClosed(ConnectionError):
    """The peer closed the connection (or it broke)."""


def encode_frame(payload: bytes, buffers: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    """One frame carrying a JSON ``payload`` and binary ``buffers``."""
    if len(buffers) > MAX_BUFFERS:
        raise FrameError(f"too many buffers: {len(buffers)} > {MAX_BUFFERS}")
    parts = [_BODY_HEAD.pack(len(payload), len(buffers))]
    parts += [_LEN.pack(len(b)) for b in buffers]
    parts.append(payload)
    parts += [bytes(b) for b in buffers]
    body = b"".join(parts)
    return _LEN.pack(len(body)) + body


def decode_body(body: bytes) -> tuple[bytes, list[bytes]]:
    """Split a frame body into its JSON payload and buffers; raise :class:`FrameError` if malformed."""
    if len(body) < _BODY_HEAD.size:
        raise FrameError("frame body too short")
    json_len, count = _BODY_HEAD.unpack_from(body, 0)
    if count > MAX_BUFFERS:
        raise FrameError(f"too many buffers: {count}")
    pos = _BODY_HEAD.size
    if len(body) < pos + 4 * count:
        raise FrameError("frame body too short for its buffer table")
    lengths = [_LEN.unpack_from(body, pos + 4 * i)[0] for i in range(count)]
    pos += 4 * count
    if pos + json_len + sum(lengths) != len(body):
        raise FrameError("frame lengths do not add up")
    payload = body[pos : pos + json_len]
    pos += json_len
    buffers = []
    for length in lengths:
        buffers.append(body[pos : pos + length])
        pos += length
    return payload, buffers


class FrameReader:
    """Reads whole frame bodies from a blocking socket."""

    def __init__(
        self, sock: socket.socket, max_frame_bytes: int = MAX_FRAME_BYTES, skip_oversized: bool = True
    ):
        self._sock = sock
        self.max_frame_bytes = max_frame_bytes
        #: skip an oversized frame's bytes (stay in step) or refuse at once (the connection is then unusable)
        self.skip_oversized = skip_oversized

    def read_body(self) -> bytes:
        """The next frame's body; :class:`FrameTooLarge` or :class:`ConnectionClosed`."""
        (length,) = _LEN.unpack(self._read_exact(_LEN.size))
        if length > self.max_frame_bytes:
            if self.skip_oversized:
                self._skip(length)
            raise FrameTooLarge(f"frame of {length} bytes is over the limit of {self.max_frame_bytes}")
        return self._read_exact(length)

    def _read_exact(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = self._recv(min(n - len(chunks), 1 << 20))
            chunks += chunk
        return bytes(chunks)

    def _skip(self, n: int) -> None:
        while n > 0:
            n -= len(self._recv(min(n, 1 << 20)))

    def _recv(self, n: int) -> bytes:
        try:
            chunk = self._sock.recv(n)
        except OSError as exc:
            raise ConnectionClosed(str(exc)) from exc
        if not chunk:
            raise ConnectionClosed("connection closed by peer")
        return chunk
