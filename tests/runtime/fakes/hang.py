"""Fake runtime: answers a few pings, then freezes (never reads or writes again)."""

import os
import time

from _fake import accept, hello, serve_pings

conn, reader = accept()
hello(conn, reader)
serve_pings(conn, reader, limit=int(os.environ.get("FAKE_PINGS", "3")))
while True:
    time.sleep(1)  # hung: alive, silent
