"""Shared bits of the fake runtimes: parse ``--socket``, read the secret, listen, handshake."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import decode_message, encode_message, make_message
from vivid_desktop.protocol.transport import ACCEPTED, PREAMBLE_BYTES, read_exact
from vivid_desktop.protocol.wire import FrameReader


def socket_path() -> Path:
    return Path(sys.argv[sys.argv.index("--socket") + 1])


def accept() -> tuple[socket.socket, FrameReader]:
    sys.stdin.readline()  # the secret; fakes do not check it
    path = socket_path()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    conn, _ = server.accept()
    read_exact(conn, PREAMBLE_BYTES)  # the secret's digest; fakes do not check it
    conn.sendall(ACCEPTED)
    return conn, FrameReader(conn)


def hello(conn: socket.socket, reader: FrameReader, protocol: str = "1.0") -> None:
    """Answer the client's hello as a real runtime would (with any protocol version)."""
    msg = decode_message(reader.read_body())
    reply = m.HelloReply(protocol=protocol, runtime_version="fake", pid=os.getpid())
    conn.sendall(encode_message(make_message(reply, session="fake", parent_id=msg.msg_id)))


def serve_pings(conn: socket.socket, reader: FrameReader, limit: int | None = None) -> None:
    """Answer pings (and ack jobs) until ``limit`` pings were answered."""
    answered = 0
    while limit is None or answered < limit:
        msg = decode_message(reader.read_body())
        if msg.msg_type == "ping":
            conn.sendall(encode_message(make_message(m.Pong(), session="fake", parent_id=msg.msg_id)))
            answered += 1
