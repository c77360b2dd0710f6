"""Frames and envelopes in process: round trips, limits, versions, unknown fields and types, junk."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import MessageError, decode_message, encode_message, make_message
from vivid_desktop.protocol.version import (
    PROTOCOL_VERSION,
    ProtocolVersionError,
    check_compatible,
    parse_version,
)
from vivid_desktop.protocol.wire import (
    ConnectionClosed,
    FrameError,
    FrameReader,
    FrameTooLarge,
    decode_body,
    encode_frame,
)


def body_of(frame: bytes) -> bytes:
    (length,) = struct.unpack(">I", frame[:4])
    assert length == len(frame) - 4
    return frame[4:]


def test_round_trip_with_binary_buffers():
    jpeg = bytes(range(256)) * 10
    msg = make_message(
        m.FrameReady(frame=3, path="/r/000003.png", preview=m.PreviewInfo(format="jpeg", width=4, height=2)),
        session="s",
        parent_id="p",
        job_id="j",
        buffers=[jpeg, b""],
    )
    back = decode_message(body_of(encode_message(msg)))
    assert back == msg and back.buffers == (jpeg, b"")
    assert b"base64" not in encode_message(msg)


def test_unknown_fields_are_ignored_and_unknown_types_kept_as_unknown():
    data = make_message(m.Cancel(job_id="j"), session="s").to_json()
    data["content"]["from_the_future"] = [1, 2, 3]
    data["header"]["priority"] = "high"
    data["extra_top_level"] = True
    msg = decode_message(body_of(encode_frame(json.dumps(data).encode())))
    assert msg.content == m.Cancel(job_id="j")
    data["header"]["msg_type"] = "teleport"
    msg = decode_message(body_of(encode_frame(json.dumps(data).encode())))
    assert not msg.known and msg.msg_type == "teleport"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "bad_frame"),
        (struct.pack(">IH", 5, 0) + b"{}", "bad_frame"),
        (struct.pack(">IH", 2, 20) + b"{}", "bad_frame"),
        (struct.pack(">IH", 3, 0) + b"\xff\xfe\xfd", "bad_json"),
        (struct.pack(">IH", 4, 0) + b"[1,]", "bad_json"),
        (struct.pack(">IH", 2, 0) + b"[]", "bad_envelope"),
    ],
)
def test_malformed_bodies_raise_message_error(body, code):
    with pytest.raises(MessageError) as err:
        decode_message(body)
    assert err.value.code == code


def test_deep_nesting_and_wrong_types_are_message_errors():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(MessageError):
        decode_message(encode_frame(deep)[4:])
    data = make_message(m.Progress(done=1, total=2), session="s").to_json()
    data["content"]["done"] = {"not": "a number"}
    with pytest.raises(MessageError) as err:
        decode_message(encode_frame(json.dumps(data).encode())[4:])
    assert err.value.code == "invalid_content" and err.value.msg_type == "progress"
    assert err.value.msg_id == data["header"]["msg_id"]


def test_frame_reader_limits_and_skips_oversized_frames():
    a, b = socket.socketpair()
    with a, b:
        big = encode_frame(b"x" * 5000)
        small = encode_message(make_message(m.Ping(), session="s"))
        a.sendall(big + small)
        reader = FrameReader(b, max_frame_bytes=1000)
        with pytest.raises(FrameTooLarge):
            reader.read_body()
        assert decode_message(reader.read_body()).msg_type == "ping"  # still in step
        a.close()
        with pytest.raises(ConnectionClosed):
            reader.read_body()


def test_too_many_buffers_refused():
    with pytest.raises(FrameError):
        encode_frame(b"{}", [b""] * 17)
    assert decode_body(encode_frame(b"{}", [b"a"] * 16)[4:])[1] == [b"a"] * 16


def test_versions():
    assert parse_version("1.0") == (1, 0)
    check_compatible("1.7")
    with pytest.raises(ProtocolVersionError, match=rf"{re.escape(PROTOCOL_VERSION)}.*2\.0"):
        check_compatible("2.0")
    for bad in ("1", "1.x", "", "1.0.0", "9" * 20 + ".0"):
        with pytest.raises(ProtocolVersionError):
            parse_version(bad)


def test_factory_refuses_unregistered_content():
    with pytest.raises(TypeError):
        make_message(m.ErrorInfo(code="a", message="b"), session="s")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decoding_random_bytes_never_raises_anything_else(body):
    with contextlib.suppress(MessageError):
        decode_message(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(m.MESSAGE_TYPES)), st.dictionaries(st.text(max_size=12), json_values, max_size=6)
)
def test_random_content_for_every_type_is_typed_or_refused(msg_type, content):
    data = {
        "header": {"msg_id": "i", "msg_type": msg_type, "protocol": "1.0", "session": "s", "sent_at": "t"},
        "parent_id": None,
        "job_id": None,
        "content": content,
    }
    try:
        msg = decode_message(encode_frame(json.dumps(data).encode())[4:])
    except MessageError as exc:
        assert exc.code == "invalid_content" and exc.msg_id == "i"
    else:
        assert type(msg.content) is m.MESSAGE_TYPES[msg_type]
