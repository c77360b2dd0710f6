"""Thousands of random and mutated frames at the live runtime; it must still answer ping and run a job."""

from __future__ import annotations

import json
import random
import threading

from runtime_specs import real_spec

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import MessageError, decode_message, encode_message, make_message
from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.protocol.wire import MAX_FRAME_BYTES, ConnectionClosed, FrameReader, encode_frame
from vivid_desktop.runtime_client.launch import connect, handshake, spawn

N_RANDOM = 1500
N_MUTATED = 1500
N_TYPED = 1000


def valid_messages(tmp_path) -> list[bytes]:
    """JSON payloads of real requests (never ``shutdown``: a valid one would rightly end the runtime)."""
    plan = RenderPlan(
        source=str(tmp_path / "clip.mp4"),
        start=0,
        stop=4,
        mask=str(tmp_path / "m.png"),
        task="delete",
        engine="testing",
        output_dir=str(tmp_path / "fuzz-out"),
    )
    contents = [m.Ping(), m.Status(), m.Cancel(job_id="nope"), plan]
    return [json.dumps(make_message(c, session="fuzz", job_id="j").to_json()).encode() for c in contents]


def mutate(rng: random.Random, payload: bytes) -> bytes:
    data = bytearray(payload)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(4)
        pos = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[pos] = rng.randrange(256)
        elif op == 1:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2 and data:
            del data[pos : pos + rng.randint(1, 16)]
        else:
            data[pos:pos] = rng.choice([b"{", b"}", b"[", b'"', b"null", b"1e999", b"\\u0000", b'"msg_type"'])
    return bytes(data)


def random_value(rng: random.Random, depth: int = 0):
    choices = [None, True, -1, 2**70, 1.5, "", "x" * rng.randint(0, 40), "../../etc/passwd"]
    if depth < 3:
        choices += [[random_value(rng, depth + 1)], {"k": random_value(rng, depth + 1)}]
    return rng.choice(choices)


def typed_junk(rng: random.Random, types: list[str]) -> bytes:
    """Well-formed envelopes of real types with random content."""
    msg_type = rng.choice(types)
    content = {
        rng.choice(
            ["job_id", "source", "start", "stop", "mask", "task", "engine", "done", "x"]
        ): random_value(rng)
        for _ in range(rng.randint(0, 6))
    }
    data = {
        "header": {
            "msg_id": str(rng.random()),
            "msg_type": msg_type,
            "protocol": rng.choice(["1.0", "9.9", 5]),
            "session": "fuzz",
            "sent_at": "t",
        },
        "parent_id": random_value(rng),
        "job_id": random_value(rng),
        "content": content,
    }
    return json.dumps(data).encode()


def test_fuzzed_frames_leave_the_runtime_usable(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "m.png").write_bytes(b"x")
    rng = random.Random(20241115)
    spec = real_spec(log_path=tmp_path / "runtime.log")
    launched = spawn(spec)
    replies: list = []
    try:
        sock = connect(launched, spec.start_timeout)
        handshake(sock, launched, "fuzz", 5.0)
        reader = FrameReader(sock)

        def drain():
            try:
                while True:
                    try:
                        replies.append(decode_message(reader.read_body()))
                    except MessageError:
                        replies.append(None)
            except ConnectionClosed:
                pass

        thread = threading.Thread(target=drain, name="fuzz-drain")
        thread.start()
        types = [*sorted(set(m.MESSAGE_TYPES) - {"shutdown"}), "teleport"]
        valid = valid_messages(tmp_path)
        frames = [
            encode_frame(bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
            for _ in range(N_RANDOM)
        ]
        frames += [encode_frame(mutate(rng, rng.choice(valid))) for _ in range(N_MUTATED)]
        frames += [encode_frame(typed_junk(rng, types)) for _ in range(N_TYPED)]
        # structurally odd frames: wrong buffer tables, many buffers, one frame over the size limit
        frames += [
            encode_frame(rng.choice(valid), [b"\0" * rng.randint(0, 9)] * rng.randint(1, 16))
            for _ in range(50)
        ]
        frames.append(encode_frame(b"x" * (MAX_FRAME_BYTES + 1)))
        rng.shuffle(frames)
        sock.sendall(b"".join(frames))

        ping = make_message(m.Ping(), session="fuzz")
        plan = RenderPlan(
            source=str(tmp_path / "clip.mp4"),
            start=0,
            stop=3,
            mask=str(tmp_path / "m.png"),
            task="delete",
            engine="testing",
            output_dir=str(tmp_path / "after"),
        )
        job = make_message(plan, session="fuzz", job_id="real-job")
        sock.sendall(encode_message(ping) + encode_message(job))
        deadline_ok = _wait(
            lambda: any(
                r and r.job_id == "real-job" and r.msg_type in m.TERMINAL_TYPES for r in list(replies)
            ),
            60,
        )
        assert deadline_ok, "the real job never finished"
        got = [r for r in replies if r is not None]
        assert any(r.msg_type == "pong" and r.parent_id == ping.msg_id for r in got)
        terminal = [r for r in got if r.job_id == "real-job" and r.msg_type in m.TERMINAL_TYPES]
        assert [t.msg_type for t in terminal] == ["succeeded"]
        assert sorted(p.name for p in (tmp_path / "after").glob("*.png")) == [
            f"{i:06d}.png" for i in range(3)
        ]
        errors = [r for r in got if r.msg_type == "error_reply"]
        assert len(errors) > N_RANDOM  # the junk was answered, not silently swallowed
        assert launched.proc.poll() is None
        sock.shutdown(2)
        thread.join(10)
        sock.close()
        assert launched.proc.wait(10) == 0
    finally:
        if launched.proc.poll() is None:
            launched.proc.kill()
            launched.proc.wait()
        launched.cleanup()


def _wait(predicate, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
