"""The runtime's outbox under back-pressure: progress merged, previews stripped, nothing else dropped."""

from __future__ import annotations

import socket

import numpy as np

from model_runtime.server.outbox import HIGH_WATER, Outbox
from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import decode_message, make_message
from vivid_desktop.protocol.wire import FrameReader

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


def _progress(done: int, preview: bytes | None = None):
    info = m.PreviewInfo(format="raw", width=1, height=1) if preview else None
    content = m.Progress(done=done, total=10, message=f"step {done}", preview=info)
    return make_message(content, session="s", job_id="j", buffers=[preview] if preview else [])


def _send_merged(*messages) -> list:
    """Queue ``messages`` behind a writer that is late (as on a loaded machine), then read what arrives."""
    a, b = socket.socketpair()
    with a, b:
        box = Outbox(a)  # not started yet
        for msg in messages:
            box.put(msg, merge_key=("p", "j") if msg.msg_type == "progress" else None)
        count = box.pending()
        box.start()
        reader = FrameReader(b)
        got = [decode_message(reader.read_body()) for _ in range(count)]
        box.close()
    return got


def test_merged_progress_keeps_the_pending_preview_until_a_newer_one():
    """A fast burst of steps (only the first carries a preview: the worker throttles) must not lose it."""
    log = make_message(m.Log(message="between"), session="s", job_id="j")
    got = _send_merged(_progress(1, b"\x01\x02\x03"), _progress(2), log, _progress(3))
    assert [g.msg_type for g in got] == ["progress", "log"]
    assert got[0].content.done == 3 and got[0].content.preview is not None
    assert got[0].buffers == (b"\x01\x02\x03",)  # the newest numbers, the pending preview
    got = _send_merged(_progress(1, b"\x01\x02\x03"), _progress(2, b"\x04\x05\x06"), _progress(3))
    assert len(got) == 1 and got[0].content.done == 3 and got[0].buffers == (b"\x04\x05\x06",)


def test_frame_thumbnails_do_not_use_up_the_latent_preview_slot(tmp_path):
    from model_runtime.server.worker import Job, ServerJobContext

    sent: list[m.Progress | m.FrameReady] = []
    job = Job("j", "render_plan", m.Ping(), "p")
    ctx = ServerJobContext(job, lambda content, _job, buffers, _key, _strip: sent.append(content))
    image = np.full((8, 8, 3), 120, np.uint8)
    ctx.frame_ready(8, tmp_path / "000008.png", image)  # the end of one window
    ctx.progress(1, 4, "window 2: step 1/4", image)  # the next window's first step, at once
    ctx.progress(2, 4, "window 2: step 2/4", image)  # a burst of the same kind: throttled
    assert [c.preview is not None for c in sent] == [True, True, False]
