"""The local transports (Unix socket, loopback TCP) under the same authentication tests.

Each test runs against both: wrong secret, no secret, a hello without the preamble, idle and slow
strangers that must not hold up the real client, and a full session through the client.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import psutil
import pytest
from runtime_specs import real_spec

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import encode_message, make_message
from vivid_desktop.protocol.transport import MAGIC, PREAMBLE_BYTES, Endpoint, preamble
from vivid_desktop.runtime_client import RuntimeClient
from vivid_desktop.runtime_client.launch import Launched, connect, handshake, spawn

KINDS = ["unix", "tcp"]


@pytest.fixture(params=KINDS)
def launched(request) -> Iterator[Launched]:
    spec = real_spec(transport=request.param)
    runtime = spawn(spec)
    assert isinstance(runtime, Launched)
    try:
        deadline = time.monotonic() + spec.start_timeout
        while runtime.endpoint() is None:
            assert runtime.exit_code() is None and time.monotonic() < deadline, runtime.log_tail()
            time.sleep(0.02)
        yield runtime
    finally:
        runtime.kill()
        runtime.cleanup()


def raw(endpoint: Endpoint) -> socket.socket:
    if endpoint.kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(endpoint.path))
    else:
        sock = socket.create_connection((endpoint.host, endpoint.port))
    sock.settimeout(10)
    return sock


def closed_without_hello(sock: socket.socket) -> bytes:
    """What the runtime sent before closing (b"NO" for a wrong secret, b"" otherwise)."""
    data = b""
    try:
        while chunk := sock.recv(100):
            data += chunk
    except ConnectionResetError:
        pass  # closed with our unread bytes still queued: a reset, which is a close too
    sock.close()
    return data


def real_client_gets_in(runtime: Launched) -> None:
    sock = connect(runtime, 10)
    hello = handshake(sock, runtime, "t", 5.0)
    assert hello.ok and hello.pid == runtime.pid
    sock.close()
    assert runtime.wait_exit(10) == 0  # the client left: the runtime exits


def test_session_over_each_transport(launched: Launched):
    endpoint = launched.endpoint()
    assert endpoint is not None and endpoint.kind == launched.kind
    if endpoint.kind == "tcp":
        listening = [
            c.laddr for c in psutil.Process(launched.pid).net_connections("tcp") if c.status == "LISTEN"
        ]
        assert [a.ip for a in listening] == ["127.0.0.1"]  # loopback only, never 0.0.0.0
    real_client_gets_in(launched)


def test_wrong_secret_is_refused_before_anything_else(launched: Launched):
    endpoint = launched.endpoint()
    sock = raw(endpoint)
    sock.sendall(preamble("0" * 64))
    assert closed_without_hello(sock) == b"NO"
    real_client_gets_in(launched)


@pytest.mark.parametrize("first", ["nothing", "hello_without_preamble", "short_garbage"])
def test_no_secret_is_refused(launched: Launched, first: str):
    endpoint = launched.endpoint()
    sock = raw(endpoint)
    if first == "hello_without_preamble":
        # the right secret inside a well-formed hello is not enough: the preamble comes first
        hello = make_message(m.Hello(protocol="1.0", secret=launched.secret), session="t")
        sock.sendall(encode_message(hello)[:PREAMBLE_BYTES])
        assert closed_without_hello(sock) == b"NO"
    elif first == "short_garbage":
        sock.sendall(MAGIC)
        sock.shutdown(socket.SHUT_WR)
        assert closed_without_hello(sock) == b""
    else:
        sock.shutdown(socket.SHUT_WR)
        assert closed_without_hello(sock) == b""
    real_client_gets_in(launched)


def test_idle_and_slow_strangers_do_not_block_the_client(launched: Launched):
    endpoint = launched.endpoint()
    # one at a time, these would hold the runtime for 6 x its 5 s deadline: the client's 5 s would run out
    idle = [raw(endpoint) for _ in range(6)]  # connect and say nothing
    slow = raw(endpoint)
    slow.sendall(MAGIC[:3])  # a slow handshake that never finishes
    good = preamble(launched.secret)
    trickle = raw(endpoint)  # the right secret, one byte at a time, then a wrong hello
    for byte in good[:5]:
        trickle.send(bytes([byte]))
    sock = connect(launched, 10)
    assert handshake(sock, launched, "t", 10.0).ok  # one at a time, the strangers would take 30 s
    # the strangers are cut off (their deadline passed or the listener closed), none got in
    for stranger in [*idle, slow, trickle]:
        stranger.settimeout(10)
        assert closed_without_hello(stranger) in (b"", b"NO")
    sock.close()
    assert launched.wait_exit(10) == 0


def test_client_over_tcp_runs_a_job(tmp_path, source, mask):
    from vivid_desktop.protocol.jobs import RenderPlan

    client = RuntimeClient(real_spec(transport="tcp"))
    client.start()
    try:
        plan = RenderPlan(
            source=str(source),
            start=0,
            stop=3,
            mask=str(mask),
            task="delete",
            engine="testing",
            output_dir=str(tmp_path / "render"),
        )
        assert client.submit(plan).wait(20).msg_type == "succeeded"
        assert sorted(p.name for p in (tmp_path / "render").glob("*.png")) == [
            f"{i:06d}.png" for i in range(3)
        ]
    finally:
        assert client.shutdown() == "request"


def test_transport_is_chosen_by_the_environment(monkeypatch, tmp_path):
    from vivid_desktop.runtime_client import LaunchSpec

    monkeypatch.setenv("VIVID_RUNTIME_TRANSPORT", "tcp")
    assert "--port-file" in LaunchSpec().argv(tmp_path, tmp_path / "log")
    monkeypatch.setenv("VIVID_RUNTIME_TRANSPORT", "unix")
    assert "--socket" in LaunchSpec().argv(tmp_path, tmp_path / "log")
    assert "--port-file" in LaunchSpec(transport="tcp").argv(tmp_path, tmp_path / "log")


def test_the_socket_file_appears_only_once_it_listens(tmp_path, monkeypatch):
    """A client polls for the socket file and connects at once: the file must not exist between bind and
    listen (that connection would be refused), and it is private from the start."""
    import os
    import stat

    from model_runtime.server.gate import listen

    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    path = folder / "runtime.sock"
    seen = []
    real_listen = socket.socket.listen

    def watching_listen(self, *args):
        seen.append(path.exists())
        return real_listen(self, *args)

    monkeypatch.setattr(socket.socket, "listen", watching_listen)
    listener = listen(Endpoint("unix", path=path))
    try:
        assert seen == [False]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and sorted(os.listdir(folder)) == ["runtime.sock"]
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(path))
        client.close()
    finally:
        listener.close()
