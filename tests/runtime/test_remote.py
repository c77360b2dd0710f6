"""A remote runtime (``vivid-runtime serve``) over real TLS on loopback, with certificates made here.

Identical frames to a local render; uploads deduplicated and resumed; wrong token, untrusted and expired
certificates refused with one clear line; a connection cut mid-render resumes without recomputing.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from remote_server import ServedRuntime, make_certs, serve, write_token
from runtime_specs import real_spec

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol import uploads as u
from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.runtime_client import (
    RequestFailed,
    RuntimeClient,
    RuntimeClientError,
    RuntimeStartError,
    Supervisor,
    remote_launch_spec,
)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, certs) -> Iterator[ServedRuntime]:
    folder = tmp_path_factory.mktemp("serve")
    runtime = serve(folder, certs.server, write_token(folder / "token"))
    yield runtime
    runtime.stop()


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    from vivid_desktop.media.synth import pan_scene, write_clip

    folder = tmp_path_factory.mktemp("scene")
    s = pan_scene(n_frames=10, width=64, height=48, seed=5)
    write_clip(folder / "clip.mp4", s.frames, rate=24)
    masks = folder / "masks"
    masks.mkdir()
    for n in (0, 6):
        cv2.imwrite(str(masks / f"{n:06d}.png"), cv2.dilate(s.masks[n], np.ones((9, 9), np.uint8)))
    return folder


def remote_client(server: ServedRuntime, certs, **kw) -> RuntimeClient:
    spec = remote_launch_spec(
        server.address, kw.pop("token_file", server.token_file), kw.pop("ca", certs.ca.cert)
    )
    client = RuntimeClient(spec)
    client.start()
    return client


def flow_plan(scene: Path, out: Path, **kw) -> RenderPlan:
    return RenderPlan(
        source=str(scene / "clip.mp4"),
        start=0,
        stop=10,
        mask_dir=str(scene / "masks"),
        task="delete",
        engine="flow",
        settings={"cache_dir": str(out.parent / "flow-cache")},
        output_dir=str(out),
        **kw,
    )


def pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("0*.png"))}


def test_remote_flow_render_matches_a_local_render(server, certs, scene, tmp_path):
    local = RuntimeClient(real_spec())
    local.start()
    try:
        assert local.submit(flow_plan(scene, tmp_path / "local")).wait(60).msg_type == "succeeded"
    finally:
        local.shutdown()
    client = remote_client(server, certs)
    try:
        events = []
        job = client.submit(flow_plan(scene, tmp_path / "remote"), on_event=events.append)
        assert job.wait(60).msg_type == "succeeded", job.error
        # frames stream back as they finish, into the local folder the plan named
        ready = [e for e in events if e.msg_type == "frame_ready"]
        assert ready and all(Path(e.content.path).parent == tmp_path / "remote" for e in ready)
        assert job.result["output_dir"] == str(tmp_path / "remote") and job.result["frames"] == 10
        a, b = pixels(tmp_path / "local"), pixels(tmp_path / "remote")
        assert list(a) == list(b) == [f"{i:06d}.png" for i in range(10)]
        assert all(np.array_equal(a[name], b[name]) for name in a)  # lossless and identical
        # the server kept its own copy only under its data folder
        renders = list((server.data / "renders").glob("*/000009.png"))
        assert len(renders) == 1
        # the same inputs again: nothing is uploaded (deduplicated), nothing is computed (same key)
        again = []
        job = client.submit(flow_plan(scene, tmp_path / "again"), on_event=again.append)
        assert job.wait(60).msg_type == "succeeded"
        uploading = [
            e.content for e in again if e.msg_type == "progress" and e.content.message == "uploading inputs"
        ]
        assert uploading and uploading[0].done == uploading[0].total > 0
        assert list(pixels(tmp_path / "again")) == list(b)
    finally:
        client.shutdown()


def test_uploads_resume_and_are_checked(server, certs, tmp_path):
    client = remote_client(server, certs)
    try:
        data = np.random.default_rng(1).bytes(300_000)
        sha = hashlib.sha256(data).hexdigest()
        first = u.UploadChunk(sha256=sha, size=len(data), offset=0)
        reply = client.request_message(first, (data[:100_000],)).content
        assert reply.received == 100_000 and not reply.complete
        # an upload cut short resumes where it stopped
        status = client.request(u.UploadStatus(blobs=[u.BlobInfo(sha256=sha, size=len(data))]))
        assert status.received == {sha: 100_000}
        with pytest.raises(RequestFailed) as err:  # not where the upload stands
            client.request_message(u.UploadChunk(sha256=sha, size=len(data), offset=0), (data[:10],))
        assert err.value.code == "bad_offset"
        (tmp_path / "blob.bin").write_bytes(data)
        from vivid_desktop.runtime_client.transfer import Transfers

        seen = []
        refs = Transfers(client).upload_inputs({"x": tmp_path / "blob.bin"}, lambda d, t: seen.append((d, t)))
        assert (
            refs == {"x": f"upload:{sha}"}
            and seen[0] == (100_000, 300_000)
            and seen[-1] == (300_000, 300_000)
        )
        assert (server.data / "uploads" / "blobs" / sha).read_bytes() == data
        # bytes that do not match their hash are thrown away
        bad = hashlib.sha256(b"something else").hexdigest()
        with pytest.raises(RequestFailed) as err:
            client.request_message(u.UploadChunk(sha256=bad, size=4, offset=0), (b"evil",))
        assert err.value.code == "hash_mismatch"
        assert not (server.data / "uploads" / "blobs" / bad).exists()
    finally:
        client.shutdown()


@pytest.mark.parametrize(
    "request_",
    [
        # paths are never taken from a remote client, only references into its own folders
        lambda s: RenderPlan(
            source="/etc/passwd", start=0, stop=2, mask=s, task="delete", output_dir="render:k"
        ),
        lambda s: RenderPlan(source=s, start=0, stop=2, mask=s, task="delete", output_dir="/tmp/out"),
        # (the schema refuses this one already; sent past it, the server refuses it too)
        lambda s: RenderPlan.model_construct(
            source=s, start=0, stop=2, mask=s, task="delete", output_dir="render:../x"
        ),
        lambda s: RenderPlan(
            source=s, start=0, stop=2, mask_dir="render:k", task="delete", output_dir="render:k"
        ),
        lambda s: RenderPlan(
            source=s, start=0, stop=2, mask=s, task="delete", output_dir="render:k", settings={"x": "../../x"}
        ),
    ],
)
def test_remote_requests_cannot_name_paths(server, certs, tmp_path, request_):
    client = remote_client(server, certs)
    try:
        (tmp_path / "f").write_bytes(b"content")
        refs = client._remote.transfers.upload_inputs({"f": tmp_path / "f"}, lambda d, t: None)
        job = client.submit_direct(request_(refs["f"]).model_copy(update={"engine": "testing"}))
        assert job.wait(10).msg_type == "failed" and job.accepted is False
        assert job.error[0] in ("bad_reference", "bad_request", "invalid_content"), job.error
        for ref in ("render:k/../../../etc/passwd", "upload:" + "0" * 64, "render:../k/x", "/etc/passwd"):
            with pytest.raises(RequestFailed):
                client.request(u.FetchFile(ref=ref))
        with pytest.raises(RequestFailed):
            client.request(u.MakeFolder(files={"../escape.png": refs["f"][7:]}))
        assert not any(p.name == "escape.png" for p in server.data.parent.rglob("*"))
    finally:
        client.shutdown()


def test_wrong_token_is_refused_with_one_line(server, certs, tmp_path):
    with pytest.raises(RuntimeStartError) as err:
        remote_client(server, certs, token_file=write_token(tmp_path / "wrong"))
    assert err.value.fatal and str(err.value) == f"the runtime at {server.address} refused the token"


def test_untrusted_and_expired_certificates_are_refused(server, certs, tmp_path):
    with pytest.raises(RuntimeStartError) as err:
        remote_client(server, certs, ca=certs.other_ca.cert)
    assert err.value.fatal and "certificate" in str(err.value) and "not trusted" in str(err.value)
    assert "\n" not in str(err.value)
    expired = serve(tmp_path / "expired", certs.expired, server.token_file)
    try:
        spec = remote_launch_spec(expired.address, server.token_file, certs.ca.cert)
        client = RuntimeClient(spec)
        with pytest.raises(RuntimeStartError) as err:
            client.start()
        assert "expired" in str(err.value) and "\n" not in str(err.value)
    finally:
        expired.stop()
    assert "handshake failed" in expired.log_text()  # the server logged the failed TLS handshake


def test_plain_tcp_off_loopback_and_loose_token_files_are_refused(tmp_path):
    import subprocess
    import sys

    token = write_token(tmp_path / "token")
    run = [sys.executable, "-m", "model_runtime.server", "serve", "--token-file", str(token)]
    off = subprocess.run([*run, "--listen", "0.0.0.0:0"], capture_output=True, text=True, timeout=60)
    assert off.returncode == 2 and "TLS is required on 0.0.0.0" in off.stderr
    token.chmod(0o644)
    loose = subprocess.run([*run, "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert loose.returncode == 2 and "chmod 600" in loose.stderr


def test_a_cut_connection_resumes_without_recomputing(server, certs, tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "mask.png").write_bytes(b"m")
    out = tmp_path / "render"
    plan = RenderPlan(
        source=str(tmp_path / "clip.mp4"),
        start=0,
        stop=12,
        mask=str(tmp_path / "mask.png"),
        task="delete",
        engine="testing",
        settings={"delay_s": 0.1, "nonce": tmp_path.name},
        output_dir=str(out),
    )
    sup = Supervisor(
        remote_launch_spec(server.address, server.token_file, certs.ca.cert), restart_delay_s=0.1
    )
    sup.start()
    try:
        sup.wait_ready(30)
        cut = threading.Event()

        def cut_after_four(msg):
            if msg.msg_type == "frame_ready" and int(msg.content.frame) == 3 and not cut.is_set():
                cut.set()
                sup.client._sock.shutdown(socket.SHUT_RDWR)  # the network drops

        first = sup.submit(plan, on_event=cut_after_four)
        assert first.wait(30).content.code == "runtime_died"
        fetched = {p.name: p.stat().st_mtime_ns for p in out.glob("0*.png")}
        assert 4 <= len(fetched) < 12
        sup.wait_ready(30)  # reconnected
        assert sup.launches == 2
        second = sup.submit(plan)
        assert second.wait(30).msg_type == "succeeded", second.error
        assert sorted(p.name for p in out.glob("0*.png")) == [f"{i:06d}.png" for i in range(12)]
        assert all(p.stat().st_mtime_ns == fetched[p.name] for p in out.glob("0*.png") if p.name in fetched)
        (folder,) = {p.parent for p in (server.data / "renders").glob("*/computed.txt")}  # this test's only
        computed = [int(n) for n in (folder / "computed.txt").read_text().split()]
        assert computed and min(computed) >= len(fetched)  # frames finished before the cut: not again
        assert len(computed) == len(set(computed))
    finally:
        sup.stop()


def remote_args(server, certs) -> list[str]:
    """The command line's options for the test server: address, token, the test CA."""
    token, ca = str(server.token_file), str(certs.ca.cert)
    return ["--runtime", server.address, "--token-file", token, "--tls-ca", ca]


def test_vivid_edit_on_a_remote_runtime(server, certs, scene, tmp_path, capsys):
    from vivid_desktop.cli.main import main

    remote = remote_args(server, certs)
    edit = ["edit", str(scene / "clip.mp4"), "--mask", str(scene / "masks"), "--task", "delete"]
    assert main([*edit, *remote, "-o", str(tmp_path / "remote_png")]) == 0
    assert main([*edit, "-o", str(tmp_path / "local_png")]) == 0
    a, b = pixels(tmp_path / "local_png"), pixels(tmp_path / "remote_png")
    assert len(a) == 10 and all(np.array_equal(a[name], b[name]) for name in a)
    capsys.readouterr()
    wrong = write_token(tmp_path / "wrong")
    bad = ["--runtime", server.address, "--token-file", str(wrong), "--tls-ca", str(certs.ca.cert)]
    assert main([*edit, *bad, "-o", str(tmp_path / "x.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"vivid edit: the runtime at {server.address} refused the token"
    assert main([*edit, "--runtime", server.address, "-o", str(tmp_path / "x.mp4")]) == 1
    assert "needs --token-file" in capsys.readouterr().err


def test_a_new_keyframe_preview_replaces_the_old_file(server, certs, tmp_path):
    from vivid_desktop.protocol.jobs import EditKeyframeRequest

    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "mask.png").write_bytes(b"m")
    out = tmp_path / "previews" / "000001.png"
    client = remote_client(server, certs)
    try:
        for frame in (1, 2):  # the testing engine paints the frame number: the second file differs
            request = EditKeyframeRequest(
                source=str(tmp_path / "clip.mp4"),
                frame=frame,
                mask=str(tmp_path / "mask.png"),
                task="delete",
                engine="testing",
                output=str(out),
            )
            job = client.submit(request)
            assert job.wait(20).msg_type == "succeeded", job.error
            assert job.result["output"] == str(out)
            assert int(cv2.imread(str(out))[0, 0, 0]) == frame
    finally:
        client.shutdown()


def test_several_editors_each_with_their_own_jobs(server, certs, tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "mask.png").write_bytes(b"m")
    plan = RenderPlan(
        source=str(tmp_path / "clip.mp4"),
        start=0,
        stop=8,
        mask=str(tmp_path / "mask.png"),
        task="delete",
        engine="testing",
        settings={"delay_s": 0.1, "nonce": tmp_path.name},
        output_dir=str(tmp_path / "a"),
    )
    a, b = remote_client(server, certs), remote_client(server, certs)
    try:
        started = threading.Event()
        job = a.submit(plan, on_event=lambda e: e.msg_type == "started" and started.set())
        assert started.wait(30)
        assert a.status().current_job == job.job_id
        mine = b.status()
        assert mine.current_job is None and mine.state == "busy"  # busy with someone else's job
        with pytest.raises(RequestFailed) as err:
            b.request(m.Cancel(job_id=job.job_id))  # another editor's job is not b's to cancel
        assert err.value.code == "unknown_job"
        b.shutdown()  # one editor leaving ends its own connection, not the server or a's job
        assert job.wait(30).msg_type == "succeeded"
        assert len(list((tmp_path / "a").glob("0*.png"))) == 8
    finally:
        a.shutdown()
        b.shutdown()


def test_idle_strangers_do_not_block_editors(server, certs):
    strangers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
    try:
        client = remote_client(server, certs)  # connects while 8 connections sit in their handshake
        assert client.status().state in ("idle", "busy")
        client.shutdown()
    finally:
        for s in strangers:
            s.close()


def test_an_unreachable_server_is_retried_with_pauses_then_named(certs, tmp_path):
    from vivid_desktop.runtime_client import RuntimeState

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = write_token(tmp_path / "token")
    states: list[RuntimeState] = []
    sup = Supervisor(
        remote_launch_spec(f"127.0.0.1:{port}", token, certs.ca.cert),
        restart_limit=2,
        on_state=lambda s, d: states.append(s),
    )
    sup.start()
    try:
        with pytest.raises(RuntimeClientError) as err:
            sup.wait_ready(30)
        assert sup.launches == 3 and states[-1] == RuntimeState.DEAD
        assert str(err.value).startswith(f"cannot connect to the runtime at 127.0.0.1:{port}")
        assert sup._delay() >= 2.0  # the pauses grew (1 s, then 2 s)
    finally:
        sup.stop()


def test_a_protocol_mismatch_is_one_line(server, certs, monkeypatch):
    from vivid_desktop.runtime_client import ProtocolMismatch, launch

    monkeypatch.setattr(launch, "PROTOCOL_VERSION", "2.0")  # an editor from the future
    client = RuntimeClient(remote_launch_spec(server.address, server.token_file, certs.ca.cert))
    with pytest.raises(ProtocolMismatch) as err:
        client.start()
    message = str(err.value)
    assert message.startswith(f"the runtime at {server.address} refused the connection: protocol version")
    assert "2.0" in message and "\n" not in message and err.value.fatal


def test_vivid_preview_on_a_remote_runtime(server, certs, scene, tmp_path, capsys):
    from vivid_desktop.cli.main import main

    remote = remote_args(server, certs)
    preview = [
        "preview",
        str(scene / "clip.mp4"),
        "--frame",
        "4",
        "--mask",
        str(scene / "masks"),
        "--task",
        "delete",
    ]
    assert main([*preview, *remote, "-o", str(tmp_path / "remote.png")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert any(line.startswith("keyframe 4: stage ") for line in err), err  # the flow engine's stages
    assert err[-1] == f"vivid preview: wrote {tmp_path / 'remote.png'}"
    assert main([*preview, "-o", str(tmp_path / "local.png")]) == 0
    local, there = cv2.imread(str(tmp_path / "local.png")), cv2.imread(str(tmp_path / "remote.png"))
    assert local is not None and np.array_equal(local, there)  # the same keyframe, losslessly back
