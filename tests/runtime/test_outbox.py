"""The runtime's outbox under back-pressure: progress merged, previews stripped, nothing else dropped."""

from __future__ import annotations

import socket

from model_runtime.protocol import messages as m
from model_runtime.protocol.envelope import decode_message, make_message
from model_runtime.protocol.wire import FrameReader
from model_runtime.server.outbox import HIGH_WATER, Outbox

PREVIEW = m.PreviewInfo(format="raw", width=2, height=1)


def test_slow_reader_gets_merged_progress_stripped_previews_and_every_terminal():
    a, b = socket.socketpair()
    with a, b:
        box = Outbox(a)  # not started yet: everything queues up as behind a reader that does not read
        box.put(make_message(m.Started(kind="propagate"), session="s", job_id="j"))
        for i in range(500):
            box.put(
                make_message(m.Progress(done=i, total=500), session="s", job_id="j"), merge_key=("p", "j")
            )
        for i in range(2 * HIGH_WATER):
            msg = make_message(
                m.FrameReady(frame=i, path=f"/r/{i:06d}.png", preview=PREVIEW),
                session="s",
                job_id="j",
                buffers=[b"\x01\x02\x03" * 2],
            )
            box.put(msg, strippable=True)
        box.put(make_message(m.Succeeded(result={"frames": 2 * HIGH_WATER}), session="s", job_id="j"))
        expected = 2 + 2 * HIGH_WATER + 1
        assert box.pending() == expected
        box.start()
        reader = FrameReader(b)
        got = [decode_message(reader.read_body()) for _ in range(expected)]
        box.close()
    types = [g.msg_type for g in got]
    assert types[0] == "started" and types[-1] == "succeeded"
    progress = [g for g in got if g.msg_type == "progress"]
    assert len(progress) == 1 and progress[0].content.done == 499  # merged in place: the newest wins
    frames = [g for g in got if g.msg_type == "frame_ready"]
    assert [f.content.frame for f in frames] == list(range(2 * HIGH_WATER))  # no frame_ready lost
    with_preview = [f for f in frames if f.content.preview is not None]
    assert len(with_preview) < len(frames) and all(f.buffers for f in with_preview)
    assert all(not f.buffers for f in frames if f.content.preview is None)
