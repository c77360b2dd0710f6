"""Fake runtime: completes the handshake but claims protocol 99.0."""

import time

from _fake import accept, hello

conn, reader = accept()
hello(conn, reader, protocol="99.0")
time.sleep(30)  # the client must refuse and stop us
