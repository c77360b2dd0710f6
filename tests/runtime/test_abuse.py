"""The runtime under abuse (issue 17.4): what junk can make it log and echo is capped, and the log rotates."""

from __future__ import annotations

import json
import threading
import time

from runtime_specs import real_spec

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import MessageError, decode_message, encode_message, make_message
from vivid_desktop.protocol.wire import ConnectionClosed, FrameReader, encode_frame
from vivid_desktop.runtime_client.launch import connect, handshake, spawn

N_JUNK = 400
BIG = 10_000


def junk(i: int) -> bytes:
    """An unknown type with a long name, a long id and a long job id: nothing of it may come back whole."""
    data = make_message(m.Ping(), session="abuse").to_json()
    data["header"]["msg_type"] = f"teleport-{i}-" + "x" * BIG
    data["header"]["msg_id"] = "i" * BIG
    data["job_id"] = "j" * BIG
    data["content"] = {"payload": "p" * BIG}
    return encode_frame(json.dumps(data).encode())


def invalid(i: int) -> bytes:
    """A known type whose content is wrong, with a long id: the validation error is echoed capped."""
    data = make_message(m.Cancel(job_id="x"), session="abuse").to_json()
    data["header"]["msg_id"] = "k" * BIG
    data["content"] = {"job_id": ["y" * BIG]}
    return encode_frame(json.dumps(data).encode())


def test_junk_is_logged_and_echoed_capped_and_the_log_rotates(tmp_path):
    log_path = tmp_path / "runtime.log"
    spec = real_spec(log_path=log_path)
    spec.extra_args += ["--log-max-bytes", "20000"]
    launched = spawn(spec)
    replies: list = []
    try:
        sock = connect(launched, spec.start_timeout)
        handshake(sock, launched, "abuse", 5.0)
        reader = FrameReader(sock)
        sizes: list[int] = []

        def drain():
            try:
                while True:
                    body = reader.read_body()
                    sizes.append(len(body))
                    try:
                        replies.append(decode_message(body))
                    except MessageError:
                        replies.append(None)
            except ConnectionClosed:
                pass

        thread = threading.Thread(target=drain, name="abuse-drain")
        thread.start()
        sock.sendall(b"".join(junk(i) if i % 2 else invalid(i) for i in range(N_JUNK)))
        ping = make_message(m.Ping(), session="abuse")
        sock.sendall(encode_message(ping))
        deadline = time.monotonic() + 60
        while not any(r and r.parent_id == ping.msg_id for r in list(replies)):
            assert time.monotonic() < deadline, "no pong after the junk"
            time.sleep(0.05)
        errors = [r for r in replies if r is not None and r.msg_type == "error_reply"]
        codes = {r.content.error.code for r in errors}
        assert len(errors) == N_JUNK and codes == {"unknown_message_type", "invalid_content"}
        # every reply is small, no oversized id is echoed back
        assert max(sizes) < 2000, max(sizes)
        assert all(r.parent_id is None and r.job_id is None for r in errors)
        unknown = next(r for r in errors if r.content.error.code == "unknown_message_type")
        assert "teleport-" in unknown.content.error.message and "characters)" in unknown.content.error.message
        sock.shutdown(2)
        thread.join(10)
        sock.close()
        assert launched.wait_exit(10) == 0
        # the log rotated: each file stays near its limit, no more than the backups are kept
        logs = sorted(tmp_path.glob("runtime.log*"))
        names = {p.name for p in logs}
        assert {"runtime.log", "runtime.log.1", "runtime.log.2"} <= names and "runtime.log.3" not in names
        assert all(p.stat().st_size < 25_000 for p in logs if not p.name.endswith(".stderr"))
        text = log_path.read_text() + (tmp_path / "runtime.log.1").read_text()
        assert "ignoring unknown message type" in text and "x" * 200 not in text
    finally:
        launched.kill()
        launched.cleanup()
