"""Go to a typed position: the timecode field takes a frame, a timecode or an offset (Ctrl+G)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from guitools import settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from vivid_desktop.core.timebase import TimecodeError, parse_position


def test_parse_position_frames_timecodes_and_offsets():
    rate = Fraction(24)
    assert parse_position("120", rate) == 120
    assert parse_position("00:00:01:05", rate) == 29
    assert parse_position("1:05", rate) == 29  # filled from the right, as NLEs do
    assert parse_position("1:00:00", rate) == 24 * 60
    assert parse_position("+12", rate, current=10) == 22
    assert parse_position("-1:00", rate, current=30) == 6
    assert parse_position("00:10:00;02", Fraction(30000, 1001)) == 17982 + 2
    for bad in ("abc", "1:2:3:4:5", "00:00:00:30", ""):
        with pytest.raises(TimecodeError):
            parse_position(bad, rate)


def _type_into(qtbot, w, text: str) -> None:
    QTest.keyClick(w, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, 20)
    field = w.transport_bar.timecode
    assert field.hasFocus()
    QTest.keyClicks(field, text)
    QTest.keyClick(field, Qt.Key.Key_Return)
    settle(qtbot, 30)


def test_ctrl_g_then_typing_moves_the_playhead(qtbot, opened):
    w, s = opened, opened.session
    qtbot.waitUntil(w.isActiveWindow)
    _type_into(qtbot, w, "00:00:01:02")
    assert s.frame == 26
    assert not w.transport_bar.timecode.hasFocus()  # the keys go back to the transport
    assert w.transport_bar.timecode.text().startswith("00:00:01:02")
    _type_into(qtbot, w, "7")
    assert s.frame == 7
    _type_into(qtbot, w, "+3")
    assert s.frame == 10
    _type_into(qtbot, w, "9999")
    assert s.frame == 35  # clamped to the clip
    _type_into(qtbot, w, "1:xx")
    assert s.frame == 35
    assert "neither a frame number nor a timecode" in w.statusBar().currentMessage()
    QTest.keyClick(w.transport_bar.timecode, Qt.Key.Key_Escape)
    settle(qtbot, 20)
    assert w.transport_bar.timecode.text().startswith("00:00:01:11")  # back to showing the playhead
