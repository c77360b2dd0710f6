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
from typing import IO, Literal

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import (
    Message,
    MessageError,
    decode_message,
    encode_message,
    make_message,
)
from vivid_desktop.protocol.transport import (
    AuthRefused,
    CertificateError,
    Endpoint,
    TransportError,
    client_tls_context,
    default_local_kind,
    open_connection,
)
from vivid_desktop.protocol.uploads import UPLOADS_FEATURE
from vivid_desktop.protocol.version import FEATURES, PROTOCOL_VERSION, ProtocolVersionError, check_compatible
from vivid_desktop.protocol.wire import MAX_HANDSHAKE_FRAME_BYTES, ConnectionClosed, FrameError, FrameReader
from vivid_desktop.runtime_client.errors import ProtocolMismatch, RuntimeStartError
from vivid_desktop.runtime_client.leftovers import PREFIX, claim, remove_abandoned

SOCKET_NAME = "runtime.sock"
PORT_FILE = "runtime.port"


@dataclass
class RemoteSpec:
    """A runtime on another machine (``vivid-runtime serve``): where, the token file, and the CA to trust.

    ``endpoint`` is TLS unless it is a plain loopback TCP endpoint (an SSH tunnel, a test).
    """

    endpoint: Endpoint
    token_file: Path
    ca_file: Path | None = None

    @classmethod
    def parse(cls, address: str, token_file: Path, ca_file: Path | None = None) -> RemoteSpec:
        """``HOST:PORT`` (TLS) or ``tcp://127.0.0.1:PORT`` (plain, loopback only); ValueError if bad."""
        kind: Literal["tcp", "tls"] = "tls"
        for scheme in ("tls://", "tcp://"):
            if address.startswith(scheme):
                kind, address = scheme[:3], address[len(scheme) :]  # type: ignore[assignment]
        endpoint = Endpoint.parse(address, kind)
        if kind == "tcp" and not endpoint.is_loopback():
            raise ValueError(f"plain TCP only to loopback; {endpoint} needs TLS")
        return cls(endpoint, token_file, ca_file)

    def read_token(self) -> str:
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise RuntimeStartError(f"cannot read the token file {self.token_file}: {exc}") from exc
        if not token:
            raise RuntimeStartError(f"the token file {self.token_file} is empty")
        return token


HEARTBEAT_ENV = "VIVID_RUNTIME_HEARTBEAT_TIMEOUT"


@dataclass
class LaunchSpec:
    """How to start and supervise the runtime. ``command`` defaults to ``python -m model_runtime.server``.

    ``--socket PATH`` (or ``--port-file PATH`` for loopback TCP) is appended to the command; the secret
    goes to the process's standard input. ``transport``: ``unix``/``tcp``, default per platform
    (``VIVID_RUNTIME_TRANSPORT`` overrides). With ``remote`` nothing is started: the client connects.
    """

    command: list[str] | None = None
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    transport: str | None = None
    remote: RemoteSpec | None = None
    start_timeout: float = 30.0
    handshake_timeout: float = 5.0
    heartbeat_interval: float = 0.25
    #: ``VIVID_RUNTIME_HEARTBEAT_TIMEOUT`` (seconds) loosens it on a machine too loaded to answer in time
    heartbeat_timeout: float = field(default_factory=lambda: _env_seconds(HEARTBEAT_ENV, 1.5))
    request_timeout: float = 10.0
    #: longer than the runtime's own grace for a job to notice its cancel flag (2 s)
    shutdown_timeout: float = 4.0
    terminate_timeout: float = 2.0

    def local_kind(self) -> str:
        return self.transport or default_local_kind()

    def argv(self, workdir: Path, log_path: Path) -> list[str]:
        base = self.command or [sys.executable, "-m", "model_runtime.server"]
        where = ["--socket", str(workdir / SOCKET_NAME)]
        if self.local_kind() == "tcp":
            where = ["--port-file", str(workdir / PORT_FILE)]
        return [*base, *self.extra_args, *where, "--log-file", str(log_path)]


def remote_launch_spec(address: str, token_file: Path, ca_file: Path | None = None) -> LaunchSpec:
    """A spec that connects to ``vivid-runtime serve`` at ``address`` (network-sized heartbeat)."""
    return LaunchSpec(
        remote=RemoteSpec.parse(address, token_file, ca_file),
        start_timeout=15.0,
        handshake_timeout=10.0,
        heartbeat_interval=1.0,
        heartbeat_timeout=10.0,
        request_timeout=30.0,
    )


@dataclass
class Launched:
    """A spawned runtime: its process, private folder, logs and secret."""

    proc: subprocess.Popen[bytes]
    workdir: Path
    kind: str
    log_path: Path
    stderr_path: Path
    log_file: IO[bytes]
    secret: str
    label: str = "the runtime"

    @property
    def socket_path(self) -> Path:
        return self.workdir / SOCKET_NAME

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    def exit_code(self) -> int | None:
        return self.proc.poll()

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def cleanup(self) -> None:
        self.log_file.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the runtime's standard error (crashes) or, when that is empty, of its log."""
        return _tail(self.stderr_path, lines) or _tail(self.log_path, lines)

    def endpoint(self) -> Endpoint | None:
        """Where the runtime listens, once it does (the socket file or the port file exists)."""
        if self.kind == "unix":
            return Endpoint("unix", path=self.socket_path) if self.socket_path.exists() else None
        try:
            port = int((self.workdir / PORT_FILE).read_text())
        except (OSError, ValueError):
            return None
        return Endpoint("tcp", port=port)

    def connect(self, timeout: float) -> socket.socket:
        return connect(self, timeout)


@dataclass
class RemoteLink:
    """A remote runtime: no process to start or stop, only a connection (same face as :class:`Launched`)."""

    spec: RemoteSpec
    secret: str
    kind: str = "tls"
    pid: int | None = None

    @property
    def label(self) -> str:
        return f"the runtime at {self.spec.endpoint}"

    def exit_code(self) -> int | None:
        return None

    def wait_exit(self, timeout: float) -> int | None:
        return None

    def terminate(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def cleanup(self) -> None:
        pass

    def log_tail(self, lines: int = 20) -> str:
        return ""

    def connect(self, timeout: float) -> socket.socket:
        spec = self.spec
        tls = None
        if spec.endpoint.kind == "tls":
            try:
                tls = client_tls_context(spec.ca_file)
            except (OSError, ValueError) as exc:
                raise RuntimeStartError(f"cannot read the CA file {spec.ca_file}: {exc}", fatal=True) from exc
        try:
            return open_connection(spec.endpoint, self.secret, timeout, tls)
        except (AuthRefused, CertificateError) as exc:
            raise RuntimeStartError(str(exc), fatal=True) from exc
        except TransportError as exc:
            raise RuntimeStartError(str(exc)) from exc


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def spawn(spec: LaunchSpec) -> Launched | RemoteLink:
    """Start the runtime with a fresh secret in a new private folder (0700); for a remote one, only link."""
    if spec.remote is not None:
        return RemoteLink(spec.remote, spec.remote.read_token(), spec.remote.endpoint.kind)
    remove_abandoned()  # the folders of editors that were killed
    workdir = Path(tempfile.mkdtemp(prefix=PREFIX))
    os.chmod(workdir, 0o700)
    claim(workdir)
    log_path = spec.log_path or workdir / "runtime.log"
    stderr_path = log_path.with_name(log_path.name + ".stderr")
    log_file = open(stderr_path, "ab")  # noqa: SIM115 - kept open for the process's lifetime
    secret = secrets.token_hex(32)
    env = {**os.environ, **spec.env}
    env.pop("VIVID_RUNTIME_SECRET", None)
    try:
        proc = subprocess.Popen(
            spec.argv(workdir, log_path),
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
    return Launched(proc, workdir, spec.local_kind(), log_path, stderr_path, log_file, secret)


def connect(launched: Launched | RemoteLink, timeout: float) -> socket.socket:
    """Connect and authenticate (the preamble) as soon as the runtime listens; fail if it exits first."""
    if isinstance(launched, RemoteLink):
        return launched.connect(timeout)
    deadline = time.monotonic() + timeout
    while True:
        code = launched.proc.poll()
        if code is not None:
            raise RuntimeStartError(_exited(launched, code))
        endpoint = launched.endpoint()
        if endpoint is not None:
            try:
                return open_connection(endpoint, launched.secret, max(1.0, deadline - time.monotonic()))
            except AuthRefused as exc:
                raise RuntimeStartError(str(exc)) from exc
            except TransportError:
                pass  # listening not yet, or it is exiting: poll() above tells
        if time.monotonic() > deadline:
            raise RuntimeStartError(f"the runtime did not start within {timeout:.0f} s")
        time.sleep(0.02)


def handshake(
    sock: socket.socket, launched: Launched | RemoteLink, session: str, timeout: float
) -> m.HelloReply:
    """Send ``hello`` with the secret; check the reply's version. Raises :class:`RuntimeStartError`."""
    from vivid_desktop import __version__

    hello = make_message(
        m.Hello(
            protocol=PROTOCOL_VERSION,
            secret=launched.secret,
            client="vivid-desktop",
            client_version=__version__,
            # a remote runtime takes uploads from a client that says it sends them
            features=[*FEATURES, *([UPLOADS_FEATURE] if isinstance(launched, RemoteLink) else [])],
        ),
        session=session,
    )
    sock.settimeout(timeout)
    try:
        sock.sendall(encode_message(hello))
        reply = decode_message(FrameReader(sock, MAX_HANDSHAKE_FRAME_BYTES, skip_oversized=False).read_body())
    except (TimeoutError, ConnectionClosed, OSError, FrameError, MessageError) as exc:
        code = launched.exit_code()
        if code is not None and isinstance(launched, Launched):
            raise RuntimeStartError(_exited(launched, code)) from exc
        raise RuntimeStartError(f"{launched.label} failed the handshake: {exc}") from exc
    finally:
        sock.settimeout(None)
    return _check_hello_reply(reply, hello, launched.label)


def _check_hello_reply(reply: Message, hello: Message, label: str = "the runtime") -> m.HelloReply:
    content = reply.content
    if not isinstance(content, m.HelloReply) or reply.parent_id != hello.msg_id:
        raise RuntimeStartError(f"{label} answered hello with {reply.msg_type[:40]!r}")
    if not content.ok and content.error is not None:
        cls = ProtocolMismatch if content.error.code == "protocol_mismatch" else RuntimeStartError
        raise cls(f"{label} refused the connection: {content.error.message}")
    try:
        check_compatible(content.protocol)
    except ProtocolVersionError as exc:
        raise ProtocolMismatch(str(exc)) from None
    return content


def _exited(launched: Launched, code: int) -> str:
    tail = launched.log_tail(1)
    return f"the runtime exited during start (code {code})" + (f": {tail}" if tail else "")


def _env_seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default
