"""Propagate shows its plan first (frames, windows, time with tracking, disk), with "don't ask again"."""

from __future__ import annotations

import numpy as np
from guitools import settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def _edit_with_keyframe(s, scene) -> None:
    s.new_edit("delete")
    s.store.add_keyframe(s.edit_id, 0, (scene.masks[0] > 0).astype(np.uint8) * 255)


def test_ctrl_enter_shows_the_plan_and_cancel_starts_nothing(qtbot, opened, scene):
    w, s = opened, opened.session
    w.settings.set("render/confirm_plan", True)
    _edit_with_keyframe(s, scene)
    w.propagate.record_speed("flow", 36, 9.0)  # measured on this machine: 4 frames/s
    w.propagate.record_speed("track", 36, 3.0)  # and 12 frames/s tracking
    qtbot.waitUntil(w.isActiveWindow)
    QTest.keyClick(w, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    dialog = w.plan_dialog
    qtbot.waitUntil(dialog.isVisible)
    text = dialog.summary.text()
    assert "<b>36</b>" in text and "36 frames" in text  # frames, and tracking first (no track yet)
    assert "about 12 s" in text  # 9 s rendering + 3 s tracking, from the measured speeds
    assert "Disk needed" in text and "free" in text
    dialog.reject()
    settle(qtbot, 30)
    assert not w.propagate.running and not w.propagate._preparing
    assert "about 12 s" in w.propagate_panel.plan_label.text()
    assert "measured on this machine" in w.propagate_panel.plan_label.text()


def test_dont_ask_again_is_remembered(qtbot, opened, scene):
    w, s = opened, opened.session
    w.settings.set("render/confirm_plan", True)
    _edit_with_keyframe(s, scene)
    started = []
    w.propagate.propagate = lambda track_first=False: started.append(track_first)
    w.run_propagate()
    dialog = w.plan_dialog
    dialog.dont_ask.setChecked(True)
    dialog.start_button.click()
    assert started == [True] and w.settings.get("render/confirm_plan") is False
    w.run_propagate()  # no dialog this time
    assert started == [True, True] and not w.plan_dialog.isVisible()


def test_the_tracker_measures_its_speed(qtbot, opened):
    w = opened
    w.tracker.measured.emit(36, 2.0)
    assert w.propagate.speed_book().speed("track", 192, 112).fps == 18.0
