"""How a connection to the runtime is made: three transports under one protocol (docs/protocol.md).

- ``unix``: a Unix domain socket (0600, in a 0700 folder): the default for a local runtime on Linux/macOS.
- ``tcp``: TCP bound to 127.0.0.1 only (the Jupyter kernel model): the local transport on Windows, and
  on any system with ``VIVID_RUNTIME_TRANSPORT=tcp``.
- ``tls``: TCP wrapped in TLS, for a remote runtime (``vivid-runtime serve``); required off loopback.

Every transport starts with the same **preamble**, before any message: the client sends ``MAGIC`` and the
SHA-256 digest of the secret (the per-launch secret, or a remote server's token); the server reads exactly
those bytes within a deadline, compares the digest in constant time, and answers ``OK`` or ``NO`` (then
closes). Nothing else the peer sends is read before that: a stranger cannot make the server parse JSON.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MAGIC = b"VIVIDRT1"
PREAMBLE_BYTES = len(MAGIC) + 32
ACCEPTED, REFUSED = b"OK", b"NO"
TRANSPORT_ENV = "VIVID_RUNTIME_TRANSPORT"
LOOPBACK = "127.0.0.1"

Kind = Literal["unix", "tcp", "tls"]


class TransportError(ConnectionError):
    """A connection could not be made or authenticated; the message is one line for a person."""


class AuthRefused(TransportError):
    """The server refused the secret or token."""


class CertificateError(TransportError):
    """The server's TLS certificate is not trusted (untrusted CA, expired, wrong host name)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a runtime listens: a socket path (``unix``) or a host and port (``tcp``/``tls``)."""

    kind: Kind
    path: Path | None = None
    host: str = LOOPBACK
    port: int = 0

    @classmethod
    def parse(cls, text: str, kind: Kind = "tls") -> Endpoint:
        """``HOST:PORT`` (IPv6 as ``[::1]:PORT``) or ``unix:PATH``; :class:`ValueError` if malformed."""
        if text.startswith("unix:"):
            return cls("unix", path=Path(text[5:]))
        host, sep, port = text.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"not HOST:PORT: {text!r}")
        return cls(kind, host=host, port=int(port))

    def is_loopback(self) -> bool:
        if self.kind == "unix":
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        if self.kind == "unix":
            return f"unix:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def default_local_kind() -> Kind:
    """``unix`` where Unix sockets exist, ``tcp`` on Windows; ``VIVID_RUNTIME_TRANSPORT`` overrides."""
    forced = os.environ.get(TRANSPORT_ENV, "").strip().lower()
    if forced in ("unix", "tcp"):
        return forced  # type: ignore[return-value]
    return "unix" if hasattr(socket, "AF_UNIX") else "tcp"


def preamble(secret: str) -> bytes:
    """The first bytes a client sends: ``MAGIC`` and the SHA-256 digest of the secret (fixed length)."""
    return MAGIC + secret_digest(secret)


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


# ---- the client side ----------------------------------------------------------------------------


def client_tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Verifies the server's certificate and host name: against ``ca_file``, else the system's CAs."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def open_connection(
    endpoint: Endpoint,
    secret: str,
    timeout: float,
    tls: ssl.SSLContext | None = None,
) -> socket.socket:
    """Connect, (TLS-handshake,) send the preamble and wait for ``OK``. Raises :class:`TransportError`."""
    deadline = time.monotonic() + timeout
    sock = _raw_connect(endpoint, timeout)
    try:
        if endpoint.kind == "tls":
            sock = _tls_wrap(sock, endpoint, tls or client_tls_context(), deadline)
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        sock.sendall(preamble(secret))
        answer = read_exact(sock, len(ACCEPTED))
    except TransportError:
        sock.close()
        raise
    except (OSError, ConnectionError) as exc:
        sock.close()
        raise TransportError(
            f"the runtime at {endpoint} closed the connection during authentication"
        ) from exc
    if answer != ACCEPTED:
        sock.close()
        what = "token" if endpoint.kind == "tls" else "secret"
        raise AuthRefused(f"the runtime at {endpoint} refused the {what}")
    sock.settimeout(None)
    return sock


def _raw_connect(endpoint: Endpoint, timeout: float) -> socket.socket:
    try:
        if endpoint.kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(str(endpoint.path))
            return sock
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TransportError(f"cannot connect to the runtime at {endpoint}: {reason}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _tls_wrap(
    sock: socket.socket, endpoint: Endpoint, context: ssl.SSLContext, deadline: float
) -> socket.socket:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return context.wrap_socket(sock, server_hostname=endpoint.host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        reason = exc.verify_message or str(exc)
        raise CertificateError(
            f"the certificate of the runtime at {endpoint} is not trusted ({reason}); "
            "pass the server's CA with --tls-ca (Settings → Runtime → CA)"
        ) from exc
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        raise TransportError(f"TLS with the runtime at {endpoint} failed: {exc}") from exc


def read_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes, or :class:`ConnectionError` when the peer closes first."""
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        data += chunk
    return bytes(data)
