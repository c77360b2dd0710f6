"""NLE transport keys on the real main window: arrows, Shift+arrows, Home/End, I/O, Space, J/K/L."""

from __future__ import annotations

import time

from guitools import settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

K = Qt.Key
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(qtbot, w, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(w, key, modifier)
    settle(qtbot, 20)


def test_stepping_and_jumps(qtbot, opened):
    w, s = opened, opened.session
    qtbot.waitUntil(w.isActiveWindow)
    press(qtbot, w, K.Key_Right)
    assert s.frame == 1
    press(qtbot, w, K.Key_Right, SHIFT)
    assert s.frame == 25  # one second at 24 fps
    press(qtbot, w, K.Key_Left)
    assert s.frame == 24
    press(qtbot, w, K.Key_Left, SHIFT)
    assert s.frame == 0
    press(qtbot, w, K.Key_Left)
    assert s.frame == 0  # clamped
    press(qtbot, w, K.Key_End)
    assert s.frame == 35
    press(qtbot, w, K.Key_Right)
    assert s.frame == 35
    press(qtbot, w, K.Key_Home)
    assert s.frame == 0
    # the timeline and the timecode follow the playhead
    press(qtbot, w, K.Key_Right, SHIFT)
    assert w.timeline.playhead == 24
    assert w.transport_bar.timecode.text().startswith("00:00:01:00")
    assert w.viewer.label.startswith("00:00:01:00")
    # the viewer shows the frame that was asked for (exact at rest)
    qtbot.waitUntil(lambda: w.viewer._source is not None and s.frames._shown_exact == (24, True))


def test_in_out_marks(qtbot, opened):
    w, s = opened, opened.session
    s.seek(5)
    press(qtbot, w, K.Key_I)
    s.seek(20)
    press(qtbot, w, K.Key_O)
    src = s.project.source
    assert (src.in_frame, src.out_frame) == (5, 21)
    assert (w.timeline.mark_in, w.timeline.mark_out) == (5, 20)
    assert "16 frames" in w.transport_bar.range_label.text()
    press(qtbot, w, K.Key_Home)  # Home goes to the in mark first
    assert s.frame == 5
    w.actions_by_name["undo"].trigger()  # marks are undoable
    assert s.project.source.out_frame is None
    press(qtbot, w, K.Key_X, Qt.KeyboardModifier.AltModifier)
    assert (s.project.source.in_frame, s.project.source.out_frame) == (0, None)


def test_play_pause_and_jkl(qtbot, opened, timed):
    w, s, t = opened, opened.session, opened.transport
    press(qtbot, w, K.Key_Space)
    assert t.speed == 1
    t0 = time.monotonic()
    qtbot.wait(500)
    press(qtbot, w, K.Key_Space)
    elapsed = time.monotonic() - t0
    assert t.speed == 0
    assert 0 < s.frame <= elapsed * 24 + 5, (s.frame, elapsed)  # it played, never ahead of the clock
    if timed:  # real-time playback at the clip's rate (24 fps), within scheduling slack
        assert abs(s.frame - elapsed * 24) <= 5, (s.frame, elapsed)
    played_to = s.frame
    press(qtbot, w, K.Key_L)
    press(qtbot, w, K.Key_L)
    press(qtbot, w, K.Key_L)
    assert t.speed == 4
    press(qtbot, w, K.Key_J)  # J while going forwards fast: slows down first
    assert t.speed == 2
    press(qtbot, w, K.Key_K)
    assert t.speed == 0
    assert s.frame >= played_to
    s.seek(30)
    press(qtbot, w, K.Key_J)
    assert t.speed == -1
    qtbot.wait(300)
    press(qtbot, w, K.Key_K)
    assert s.frame < 30
    # playing to the end stops there
    s.seek(33)
    press(qtbot, w, K.Key_L)
    qtbot.waitUntil(lambda: t.speed == 0, timeout=3000)
    assert s.frame == 35


def test_keyframe_jumps(qtbot, opened):
    w, s = opened, opened.session
    edit_id = s.new_edit("delete")
    for f in (4, 17, 30):
        s.store.add_keyframe(edit_id, f)
    s.seek(10)
    press(qtbot, w, K.Key_Down)
    assert s.frame == 17
    press(qtbot, w, K.Key_Down)
    assert s.frame == 30
    press(qtbot, w, K.Key_Up)
    press(qtbot, w, K.Key_Up)
    assert s.frame == 4
    assert w.timeline.keyframes == [4, 17, 30]


def test_scrubbing_shows_the_proxy_then_the_exact_frame(qtbot, window, settings, clip):
    from guitools import wait_open

    settings.set("proxy/enabled", True)
    settings.set("proxy/lines", 64)
    wait_open(qtbot, window, clip)
    s = window.session
    qtbot.waitUntil(lambda: s.frames.has_proxy, timeout=30000)
    assert (s.store.cache_dir("proxy") / "proxy-64.mp4").is_file()
    shown = []
    s.frames.frameLoaded.connect(lambda d: shown.append((d.frame, d.exact, d.source.height())))
    window.timeline.seekRequested.emit(27)  # a drag on the timeline: scrubbing
    qtbot.waitUntil(lambda: (27, True, 112) in shown, timeout=5000)
    assert shown[0] == (27, False, 64)  # the proxy picture first, at the proxy's size
    assert "PROXY" not in window.viewer.badge
    # the thumbnail strip was redone from the proxy
    assert window.timeline._thumbs and window.timeline._thumbs[0][1].height() == 48
