"""Spawning the runtime process: private folder, socket path, secret on stdin, connect, handshake."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import (
    Message,
    MessageError,
    decode_message,
    encode_message,
    make_message,
)
from vivid_desktop.protocol.version import FEATURES, PROTOCOL_VERSION, ProtocolVersionError, check_compatible
from vivid_desktop.protocol.wire import MAX_HANDSHAKE_FRAME_BYTES, ConnectionClosed, FrameError, FrameReader
from vivid_desktop.runtime_client.errors import ProtocolMismatch, RuntimeStartError

SOCKET_NAME = "runtime.sock"


@dataclass
class LaunchSpec:
    """How to start and supervise the runtime. ``command`` defaults to ``python -m model_runtime.server``.

    ``--socket PATH`` is appended to the command; the secret goes to the process's standard input.
    """

    command: list[str] | None = None
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    start_timeout: float = 30.0
    handshake_timeout: float = 5.0
    heartbeat_interval: float = 0.25
    heartbeat_timeout: float = 1.5
    request_timeout: float = 10.0
    #: longer than the runtime's own grace for a job to notice its cancel flag (2 s)
    shutdown_timeout: float = 4.0
    terminate_timeout: float = 2.0

    def argv(self, socket_path: Path) -> list[str]:
        base = self.command or [sys.executable, "-m", "model_runtime.server"]
        return [*base, *self.extra_args, "--socket", str(socket_path)]


@dataclass
class Launched:
    """A spawned runtime: its process, private folder and log."""

    proc: subprocess.Popen[bytes]
    workdir: Path
    socket_path: Path
    log_path: Path
    log_file: IO[bytes]
    secret: str

    def cleanup(self) -> None:
        self.log_file.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 16384))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def spawn(spec: LaunchSpec) -> Launched:
    """Start the runtime with a fresh secret in a new private folder (0700)."""
    workdir = Path(tempfile.mkdtemp(prefix="vivid-rt-"))
    os.chmod(workdir, 0o700)
    socket_path = workdir / SOCKET_NAME
    log_path = spec.log_path or workdir / "runtime.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - kept open for the process's lifetime
    secret = secrets.token_hex(32)
    env = {**os.environ, **spec.env}
    env.pop("VIVID_RUNTIME_SECRET", None)
    try:
        proc = subprocess.Popen(
            spec.argv(socket_path),
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=log_file,
            env=env,
            start_new_session=True,  # Ctrl-C in a terminal reaches the client, which cancels cleanly
        )
    except OSError as exc:
        log_file.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeStartError(f"cannot start the runtime: {exc}") from exc
    assert proc.stdin is not None
    try:
        proc.stdin.write(secret.encode() + b"\n")
        proc.stdin.close()
    except OSError:
        pass  # it died already; connect() reports how
    return Launched(proc, workdir, socket_path, log_path, log_file, secret)


def connect(launched: Launched, timeout: float) -> socket.socket:
    """Connect to the runtime's socket as soon as it listens; fail if the process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        code = launched.proc.poll()
        if code is not None:
            raise RuntimeStartError(_exited(launched, code))
        if launched.socket_path.exists():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(launched.socket_path))
                return sock
            except OSError:
                sock.close()
        if time.monotonic() > deadline:
            raise RuntimeStartError(f"the runtime did not start within {timeout:.0f} s")
        time.sleep(0.02)


def handshake(sock: socket.socket, launched: Launched, session: str, timeout: float) -> m.HelloReply:
    """Send ``hello`` with the secret; check the reply's version. Raises :class:`RuntimeStartError`."""
    from vivid_desktop import __version__

    hello = make_message(
        m.Hello(
            protocol=PROTOCOL_VERSION,
            secret=launched.secret,
            client="vivid-desktop",
            client_version=__version__,
            features=list(FEATURES),
        ),
        session=session,
    )
    sock.settimeout(timeout)
    try:
        sock.sendall(encode_message(hello))
        reply = decode_message(FrameReader(sock, MAX_HANDSHAKE_FRAME_BYTES, skip_oversized=False).read_body())
    except (TimeoutError, ConnectionClosed, OSError, FrameError, MessageError) as exc:
        code = launched.proc.poll()
        if code is not None:
            raise RuntimeStartError(_exited(launched, code)) from exc
        raise RuntimeStartError(f"the runtime failed the handshake: {exc}") from exc
    finally:
        sock.settimeout(None)
    return _check_hello_reply(reply, hello)


def _check_hello_reply(reply: Message, hello: Message) -> m.HelloReply:
    content = reply.content
    if not isinstance(content, m.HelloReply) or reply.parent_id != hello.msg_id:
        raise RuntimeStartError(f"the runtime answered hello with {reply.msg_type!r}")
    if not content.ok and content.error is not None:
        cls = ProtocolMismatch if content.error.code == "protocol_mismatch" else RuntimeStartError
        raise cls(f"the runtime refused the connection: {content.error.message}")
    try:
        check_compatible(content.protocol)
    except ProtocolVersionError as exc:
        raise ProtocolMismatch(str(exc)) from None
    return content


def _exited(launched: Launched, code: int) -> str:
    tail = launched.log_tail(1)
    return f"the runtime exited during start (code {code})" + (f": {tail}" if tail else "")
