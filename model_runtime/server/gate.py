"""The runtime's side of the transports: listening sockets, and a gate that authenticates each connection.

Every accepted connection gets its own thread and its own deadline for the whole handshake (TLS, the
preamble with the secret, ``hello``), so idle or slow strangers cannot hold up the real client. At most
``MAX_PENDING`` handshakes run at once; more connections are closed at once.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from vivid_desktop.protocol.transport import (
    ACCEPTED,
    LOOPBACK,
    MAGIC,
    PREAMBLE_BYTES,
    REFUSED,
    Endpoint,
    read_exact,
)

log = logging.getLogger("vivid.runtime")

#: Seconds a connection has for TLS, the preamble and ``hello`` together.
HANDSHAKE_DEADLINE_S = 5.0
MAX_PENDING = 64

T = TypeVar("T")


class Listener:
    """A listening socket of one transport (``endpoint`` carries the real port after binding port 0)."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint, tls: ssl.SSLContext | None) -> None:
        self.sock = sock
        self.endpoint = endpoint
        self.tls = tls

    def secure(self, conn: socket.socket) -> socket.socket:
        """The TLS server side of a connection (the handshake under the socket's current timeout)."""
        if self.tls is None:
            return conn
        return self.tls.wrap_socket(conn, server_side=True)

    def close(self) -> None:
        self.sock.close()
        if self.endpoint.kind == "unix" and self.endpoint.path is not None:
            self.endpoint.path.unlink(missing_ok=True)


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def listen(endpoint: Endpoint, tls: ssl.SSLContext | None = None, backlog: int = 16) -> Listener:
    """Bind ``endpoint``. Plain TCP only on loopback; TLS needs a context. Never an open plain port."""
    if endpoint.kind == "unix":
        assert endpoint.path is not None
        return Listener(_listen_unix(endpoint.path, backlog), endpoint, None)
    if endpoint.kind == "tcp" and not endpoint.is_loopback():
        raise PermissionError(f"plain TCP is for loopback only, not {endpoint.host}; use TLS")
    if endpoint.kind == "tls" and tls is None:
        raise ValueError("a TLS endpoint needs a certificate and key")
    host = LOOPBACK if endpoint.host == "localhost" else endpoint.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if os.name != "nt":  # on Windows SO_REUSEADDR would let another process steal the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, endpoint.port))
    sock.listen(backlog)
    port = sock.getsockname()[1]
    return Listener(sock, Endpoint(endpoint.kind, host=endpoint.host, port=port), tls)


def _listen_unix(path: Path, backlog: int) -> socket.socket:
    """Bind and listen under a side name, then rename into place: the socket file appears only once it
    accepts connections (a client that sees it is never refused), and only with mode 0600."""
    if path.parent.stat().st_mode & 0o077:
        raise PermissionError(f"socket folder {path.parent} must be private (0700)")
    side = path.with_name(f".{path.stem}")  # no longer than the path (sockets' names are short)
    side.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(side))
        os.chmod(side, 0o600)
        sock.listen(backlog)
        os.replace(side, path)
    except BaseException:
        sock.close()
        side.unlink(missing_ok=True)
        raise
    finally:
        os.umask(old)
    return sock


def check_preamble(conn: socket.socket, digest: bytes) -> bool:
    """Read exactly the preamble (the caller set the deadline), compare in constant time, answer."""
    data = read_exact(conn, PREAMBLE_BYTES)
    good = hmac.compare_digest(data[: len(MAGIC)], MAGIC) & hmac.compare_digest(data[len(MAGIC) :], digest)
    with contextlib.suppress(OSError):
        conn.sendall(ACCEPTED if good else REFUSED)
    return bool(good)


def set_deadline(conn: socket.socket, deadline: float) -> None:
    """The time left until ``deadline`` as the socket timeout (TimeoutError once it has passed)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("handshake deadline passed")
    conn.settimeout(left)


class Gate(Generic[T]):
    """Accepts connections and runs ``handshake(conn, deadline)`` for each on its own thread.

    ``handshake`` returns a value for an admitted client (handed to ``on_client`` on that thread) or None
    (the gate closes the connection).
    """

    def __init__(
        self,
        listener: Listener,
        handshake: Callable[[socket.socket, float], T | None],
        on_client: Callable[[socket.socket, T], None],
        deadline_s: float = HANDSHAKE_DEADLINE_S,
    ) -> None:
        self.listener = listener
        self._handshake, self._on_client = handshake, on_client
        self.deadline_s = deadline_s
        self._pending = threading.BoundedSemaphore(MAX_PENDING)
        self.closed = threading.Event()

    def accept_once(self, timeout: float) -> None:
        """Accept one connection (or return after ``timeout``) and start its handshake thread."""
        self.listener.sock.settimeout(timeout)
        try:
            conn, peer = self.listener.sock.accept()
        except (TimeoutError, OSError):
            return
        if not self._pending.acquire(blocking=False):
            log.warning("too many connections in handshake; closing one from %s", peer or "a local peer")
            conn.close()
            return
        deadline = time.monotonic() + self.deadline_s
        threading.Thread(
            target=self._admit, args=(conn, peer, deadline), name="vivid-runtime-handshake", daemon=True
        ).start()

    def _admit(self, conn: socket.socket, peer: object, deadline: float) -> None:
        admitted = None
        try:
            set_deadline(conn, deadline)
            conn = self.listener.secure(conn)
            admitted = None if self.closed.is_set() else self._handshake(conn, deadline)
        except (OSError, ssl.SSLError, ConnectionError, ValueError) as exc:
            log.warning("handshake failed%s: %s", f" ({_peer(peer)})" if peer else "", _short(exc))
        finally:
            self._pending.release()
        if admitted is None or self.closed.is_set():
            with contextlib.suppress(OSError):
                conn.close()
            return
        conn.settimeout(None)
        self._on_client(conn, admitted)

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


def _peer(peer: object) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
