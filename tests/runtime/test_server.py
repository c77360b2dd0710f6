"""The real runtime process over its real socket: handshake, requests, jobs, cancel, bad requests."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from runtime_specs import real_spec

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import decode_message, encode_message, make_message
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrainRequest
from vivid_desktop.protocol.version import PROTOCOL_VERSION
from vivid_desktop.protocol.wire import ConnectionClosed, FrameReader, encode_frame
from vivid_desktop.runtime_client import RequestFailed, RuntimeClient, RuntimeState, preview_bytes
from vivid_desktop.runtime_client.launch import connect, handshake, spawn


def plan(tmp_path: Path, source: Path, mask: Path, **settings) -> RenderPlan:
    return RenderPlan(
        source=str(source),
        start=0,
        stop=6,
        mask=str(mask),
        task="delete",
        engine="testing",
        settings=settings,
        output_dir=str(tmp_path / "render"),
    )


def submit_and_wait_started(client: RuntimeClient, request: RenderPlan, timeout: float = 10.0):
    """Submit ``request`` and return its job once the runtime says it ``started`` (no guessed sleep)."""
    started = threading.Event()
    job = client.submit(request, on_event=lambda e: e.msg_type == "started" and started.set())
    assert started.wait(timeout), "the job never started"
    return job


def test_handshake_is_fast_and_reports_engines(client: RuntimeClient):
    hello = client.hello
    assert hello is not None and hello.protocol == PROTOCOL_VERSION and hello.pid == client.pid
    engines = {e.name: e for e in hello.engines}
    assert engines["testing"].available and engines["testing"].details == {"fake": True}
    assert "vivid" in engines and "flow" in engines  # reported even when unavailable, with a reason
    assert all(e.available or e.reason for e in engines.values())
    assert "torch" not in client.status().model_dump_json() or client.status().facts is None


def test_torch_facts_come_from_a_child_so_the_runtime_never_loads_torch(client: RuntimeClient):
    import torch

    facts = client.runtime_facts()
    assert facts is not None and not facts.error, facts
    assert facts.torch == str(torch.__version__) and facts.cuda == torch.version.cuda
    # Importing torch holds the interpreter lock for seconds; in the runtime it would starve the heartbeat.
    maps = Path(f"/proc/{client.pid}/maps").read_text()
    assert "libtorch" not in maps


def test_hello_reply_within_half_a_second(tmp_path, timed):
    spec = real_spec()
    launched = spawn(spec)
    try:
        sock = connect(launched, spec.start_timeout)
        hello = make_message(m.Hello(protocol="1.0", secret=launched.secret), session="t")
        t0 = time.monotonic()
        sock.sendall(encode_message(hello))
        reply = decode_message(FrameReader(sock).read_body())
        elapsed = time.monotonic() - t0
        assert isinstance(reply.content, m.HelloReply) and reply.content.ok
        assert elapsed < 0.5 or not timed, elapsed
        mode = stat.S_IMODE(os.stat(launched.workdir).st_mode)
        assert mode == 0o700
        sock.close()
    finally:
        launched.proc.kill()
        launched.proc.wait()
        launched.cleanup()


def test_socket_is_private_and_wrong_secret_is_refused():
    spec = real_spec()
    launched = spawn(spec)
    try:
        sock = connect(launched, spec.start_timeout)
        assert stat.S_IMODE(os.stat(launched.socket_path).st_mode) == 0o600
        bad = make_message(m.Hello(protocol="1.0", secret="0" * 64), session="t")
        sock.sendall(encode_message(bad))
        with pytest.raises(ConnectionClosed):
            FrameReader(sock).read_body()  # closed without a word
        sock.close()
        # the runtime still waits for the real client, who gets in
        sock = connect(launched, spec.start_timeout)
        sock.sendall(
            encode_message(make_message(m.Hello(protocol="1.0", secret=launched.secret), session="t"))
        )
        assert decode_message(FrameReader(sock).read_body()).content.ok
        # one client: the socket file is gone, nobody else can connect
        assert not launched.socket_path.exists()
        sock.close()
        assert launched.proc.wait(5) == 0  # client gone → runtime exits
    finally:
        if launched.proc.poll() is None:
            launched.proc.kill()
            launched.proc.wait()
        launched.cleanup()


def test_incompatible_major_is_refused_with_a_clear_message():
    spec = real_spec()
    launched = spawn(spec)
    try:
        sock = connect(launched, spec.start_timeout)
        sock.sendall(
            encode_message(make_message(m.Hello(protocol="2.0", secret=launched.secret), session="t"))
        )
        reply = decode_message(FrameReader(sock).read_body()).content
        assert isinstance(reply, m.HelloReply) and not reply.ok
        assert reply.error.code == "protocol_mismatch" and "2.0" in reply.error.message
        assert launched.proc.wait(5) == 3
        sock.close()
    finally:
        launched.cleanup()


def test_job_events_and_exactly_one_terminal(client, tmp_path, source, mask):
    events = []
    job = client.submit(plan(tmp_path, source, mask, metrics=True), on_event=events.append)
    terminal = job.wait(20)
    assert terminal.msg_type == "succeeded" and job.accepted
    assert job.result["frames"] == 6 and job.result["missing"] == 0
    types = [e.msg_type for e in events]
    assert types[0] == "started" and types[-1] == "succeeded"
    assert sum(t in m.TERMINAL_TYPES for t in types) == 1
    frames = [e.content.frame for e in events if e.msg_type == "frame_ready"]
    assert frames == list(range(6))
    assert all(Path(e.content.path).is_file() for e in events if e.msg_type == "frame_ready")
    previews = [preview_bytes(e) for e in events if preview_bytes(e)]
    assert previews and previews[0][0].format == "jpeg" and previews[0][1][:2] == b"\xff\xd8"
    assert all(e.job_id == job.job_id for e in events)
    metrics = [(e.content.step, e.content.values) for e in events if e.msg_type == "metrics"]
    assert metrics == [(n, {"loss": 1.0 / (n + 1)}) for n in range(6)]


def test_ping_answers_while_a_job_runs(client, tmp_path, source, mask):
    states = []
    client._on_state = lambda s, d: states.append(s)
    job = submit_and_wait_started(client, plan(tmp_path, source, mask, delay_s=0.15))
    rtts = [client.ping(1.0) for _ in range(5)]
    assert max(rtts) < 0.5
    status = client.status()
    assert status.state == "busy" and status.current_job == job.job_id and status.current_kind == "propagate"
    assert job.wait(20).msg_type == "succeeded"
    assert states[:1] == [RuntimeState.BUSY] and states[-1] == RuntimeState.READY


def test_cancel_running_and_queued_jobs(client, tmp_path, source, mask):
    slow = submit_and_wait_started(client, plan(tmp_path, source, mask, delay_s=0.2))
    queued = client.submit(plan(tmp_path / "b", source, mask))
    queued.cancel()
    slow.cancel()
    assert slow.wait(10).msg_type == "cancelled"
    assert queued.wait(10).msg_type == "cancelled"
    assert len(list((tmp_path / "render").glob("*.png"))) < 6
    # the runtime is idle and usable again
    assert client.status().state == "idle"
    assert client.submit(plan(tmp_path / "c", source, mask)).wait(20).msg_type == "succeeded"
    with pytest.raises(RequestFailed) as err:
        client.request(m.Cancel(job_id="no-such-job"))
    assert err.value.code == "unknown_job"


@pytest.mark.parametrize(
    ("settings", "code"),
    [({"fail": "mask_size"}, "mask_size"), ({"bug": True}, "internal_error")],
)
def test_engine_errors_become_failed_events(client, tmp_path, source, mask, settings, code):
    job = client.submit(plan(tmp_path, source, mask, **settings))
    assert job.wait(20).msg_type == "failed"
    assert job.error[0] == code and job.error[1]
    assert client.ping(1.0) < 1.0


def test_bad_requests_get_error_replies_and_end_the_job(client, tmp_path, source, mask):
    missing = client.submit(plan(tmp_path, tmp_path / "gone.mp4", mask))
    assert missing.wait(5).msg_type == "failed" and missing.accepted is False
    assert missing.error[0] == "source_missing" and "gone.mp4" in missing.error[1]  # as the engines say
    unknown = client.submit(plan(tmp_path, source, mask).model_copy(update={"engine": "nope"}))
    assert unknown.wait(5).content.code == "unknown_engine"
    edit = EditKeyframeRequest(
        source=str(source),
        frame=0,
        mask=str(tmp_path / "nomask.png"),
        task="delete",
        engine="testing",
        output=str(tmp_path / "k.png"),
    )
    assert client.submit(edit).wait(5).content.code == "mask_missing"
    train = TrainRequest(
        data=str(tmp_path / "no-data"), model=str(tmp_path), output=str(tmp_path / "l.safetensors")
    )
    refused = client.submit(train)
    assert refused.kind == "train" and refused.wait(5).content.code == "file_not_found"
    assert client.ping(1.0) < 1.0


def test_raw_bad_messages_get_error_replies(client, tmp_path):
    got = []  # raw frames go out through the client's writer; replies to them arrive via on_event
    client._on_event = got.append
    unknown = make_message(m.Ping(), session="t").to_json()
    unknown["header"]["msg_type"] = "teleport"
    unknown["content"] = {"where": "mars"}
    wrong_types = make_message(m.Cancel(job_id="x"), session="t").to_json()
    wrong_types["content"] = {"job_id": {"nested": [1, 2]}}
    for data in (unknown, wrong_types):
        client._outbox.put(encode_frame(json.dumps(data).encode()))
    client._outbox.put(encode_frame(b"{not json"))
    deadline = time.monotonic() + 5
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    codes = sorted(g.content.error.code for g in got)
    assert codes == ["bad_json", "invalid_content", "unknown_message_type"]
    assert client.ping(1.0) < 1.0


def test_runtime_exits_when_the_client_disappears(tmp_path, source, mask):
    spec = real_spec()
    launched = spawn(spec)
    try:
        sock = connect(launched, spec.start_timeout)
        handshake(sock, launched, "t", 5.0)
        job = make_message(plan(tmp_path, source, mask, delay_s=0.2), session="t", job_id="j1")
        sock.sendall(encode_message(job))
        reader = FrameReader(sock)
        while decode_message(reader.read_body()).msg_type != "started":
            pass
        sock.close()  # as if the GUI crashed
        assert launched.proc.wait(10) == 0  # the running job was cancelled, the process left
        assert len(list((tmp_path / "render").glob("*.png"))) < 6
    finally:
        if launched.proc.poll() is None:
            launched.proc.kill()
            launched.proc.wait()
        launched.cleanup()
