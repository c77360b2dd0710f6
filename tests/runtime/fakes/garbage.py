"""Fake runtime: answers hello with garbage bytes (FAKE_GARBAGE=after: garbage after a good hello)."""

import os
import random
import time

from _fake import accept, hello

conn, reader = accept()
if os.environ.get("FAKE_GARBAGE") == "after":
    hello(conn, reader)
else:
    reader.read_body()
rng = random.Random(7)
conn.sendall(bytes(rng.randrange(256) for _ in range(4096)))
time.sleep(30)
