"""Fake runtime: accepts a job, reports some progress, then dies hard."""

import os

from _fake import accept, hello

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import decode_message, encode_message, make_message

conn, reader = accept()
hello(conn, reader)
while True:
    msg = decode_message(reader.read_body())
    if msg.msg_type == "ping":
        conn.sendall(encode_message(make_message(m.Pong(), session="fake", parent_id=msg.msg_id)))
    elif msg.msg_type in m.JOB_TYPES:
        send = lambda c, **kw: conn.sendall(encode_message(make_message(c, session="fake", **kw)))  # noqa: E731
        send(m.PropagateReply(job_id=msg.job_id), parent_id=msg.msg_id, job_id=msg.job_id)
        send(m.Started(kind=msg.msg_type), parent_id=msg.msg_id, job_id=msg.job_id)
        send(m.Progress(done=1, total=10), parent_id=msg.msg_id, job_id=msg.job_id)
        os._exit(7)
