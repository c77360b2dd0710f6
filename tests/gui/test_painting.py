"""Painting masks through the real viewer with mouse events; one stroke is one undo step."""

from __future__ import annotations

import numpy as np
from guitools import settle
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def view_point(window, x: float, y: float) -> QPoint:
    """Where image pixel (x, y) is on screen in the viewer."""
    p = window.viewer.image_to_view(QPointF(x + 0.5, y + 0.5))
    return QPoint(round(p.x()), round(p.y()))


def drag(qtbot, window, points, button=Qt.MouseButton.LeftButton) -> None:
    viewer = window.viewer
    QTest.mousePress(viewer, button, Qt.KeyboardModifier.NoModifier, view_point(window, *points[0]))
    for x, y in points[1:]:
        QTest.mouseMove(viewer, view_point(window, x, y))
    QTest.mouseRelease(viewer, button, Qt.KeyboardModifier.NoModifier, view_point(window, *points[-1]))
    settle(qtbot)


def current_mask(window) -> np.ndarray:
    s = window.session
    return s.store.read_mask(s.edit_id, s.frame)


def test_brush_stroke_undo_redo(qtbot, opened):
    w = opened
    s = w.session
    w.session.seek(5)
    qtbot.waitUntil(lambda: s.frame == 5)
    w.set_tool("brush")
    s.painter.set_brush(radius=6, hardness=1.0)
    assert s.edit is None
    drag(qtbot, w, [(40, 50), (60, 50), (80, 52), (100, 55)])
    # painting without an edit made a "delete" edit, and the frame became its keyframe
    assert s.edit is not None and s.edit.task == "delete"
    assert s.keyframe_frames() == [5]
    mask = current_mask(w)
    assert mask[50, 40] == 255 and mask[50, 70] == 255 and mask[55, 100] == 255
    assert mask[20, 70] == 0 and mask[50, 150] == 0
    painted = int((mask > 127).sum())
    assert 200 < painted < 2000
    # the viewer overlays exactly this mask
    assert np.array_equal(w.viewer._mask, s.painter.mask)

    drag(qtbot, w, [(40, 90), (90, 90)])
    assert current_mask(w)[90, 60] == 255
    w.actions_by_name["undo"].trigger()  # second stroke only
    assert current_mask(w)[90, 60] == 0 and current_mask(w)[50, 70] == 255
    assert w.actions_by_name["undo"].text() == "Undo Brush stroke"
    w.actions_by_name["redo"].trigger()
    assert current_mask(w)[90, 60] == 255
    w.actions_by_name["undo"].trigger()
    w.actions_by_name["undo"].trigger()  # first stroke (and the keyframe it made)
    assert int((s.painter.mask > 0).sum()) == 0
    w.actions_by_name["redo"].trigger()
    assert int((current_mask(w) > 127).sum()) == painted


def test_eraser_rectangle_polygon_fill_and_operations(qtbot, opened):
    w = opened
    s = w.session
    w.set_tool("rectangle")
    drag(qtbot, w, [(20, 20), (80, 70)])
    mask = current_mask(w)
    assert mask[21:69, 21:79].min() == 255 and mask[10, 10] == 0 and mask[75, 50] == 0
    w.set_tool("eraser")
    s.painter.set_brush(radius=5, hardness=1.0)
    drag(qtbot, w, [(50, 20), (50, 70)])
    assert current_mask(w)[45, 50] == 0 and current_mask(w)[45, 30] == 255
    w.set_tool("polygon")
    for x, y in [(120, 20), (170, 20), (170, 80)]:
        QTest.mouseClick(
            w.viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(w, x, y)
        )
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.viewer.setFocus()
    qtbot.waitUntil(w.viewer.hasFocus)
    QTest.keyClick(w.viewer, Qt.Key.Key_Return)  # Enter closes the polygon (a viewer shortcut)
    settle(qtbot)
    mask = current_mask(w)
    assert mask[30, 160] == 255 and mask[70, 125] == 0
    steps_before = len(s.undo.steps)
    w.mask_panel.amount.setValue(4)
    w.mask_panel.op_buttons["expand"].click()
    assert current_mask(w)[17, 30] == 255  # grew by 4 px above the rectangle (top edge at 20)
    w.mask_panel.op_buttons["invert"].click()
    assert current_mask(w)[5, 5] == 255
    w.mask_panel.op_buttons["invert"].click()
    w.mask_panel.op_buttons["bbox"].click()
    assert current_mask(w)[45, 50] == 255  # the erased channel is inside the box
    w.mask_panel.op_buttons["clear"].click()
    assert current_mask(w).max() == 0
    assert len(s.undo.steps) == steps_before + 5  # one step per operation
    w.set_tool("fill")
    QTest.mouseClick(
        w.viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(w, 10, 10)
    )
    settle(qtbot)
    assert current_mask(w).min() == 255


def test_brush_size_keys_and_copy_from_previous_keyframe(qtbot, opened):
    w = opened
    s = w.session
    w.set_tool("brush")
    s.painter.set_brush(radius=10, hardness=0.5)
    w.activateWindow()
    qtbot.waitUntil(lambda: w.isActiveWindow())
    QTest.keyClick(w, Qt.Key.Key_BracketRight)
    assert abs(s.painter.radius - 12.5) < 1e-6
    assert w.mask_panel.size_slider.value() == 12
    QTest.keyClick(w, Qt.Key.Key_BracketLeft)
    QTest.keyClick(w, Qt.Key.Key_BracketLeft)
    assert abs(s.painter.radius - 8.0) < 1e-6
    drag(qtbot, w, [(60, 60), (70, 60)])
    first = current_mask(w).copy()
    s.seek(12)
    qtbot.waitUntil(lambda: s.painter.frame == 12)
    w.mask_panel.op_buttons["copy_prev"].click()
    assert s.keyframe_frames() == [0, 12]
    assert np.array_equal(current_mask(w), first)
    # soft edge from the hardness: values between 0 and 255 exist
    assert ((first > 0) & (first < 255)).any()


def test_quick_second_click_still_paints(qtbot, opened):
    """Qt delivers the second of two quick presses as a double-click event: it must still paint."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    w = opened
    w.set_tool("brush")
    w.session.painter.set_brush(radius=4, hardness=1.0)
    viewer = w.viewer
    QTest.mouseClick(viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(w, 10, 10))
    at = QPointF(view_point(w, 60, 60))
    dbl = QMouseEvent(
        QEvent.Type.MouseButtonDblClick,
        at,
        viewer.mapToGlobal(at),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewer, dbl)
    QTest.mouseRelease(
        viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(w, 60, 60)
    )
    settle(qtbot)
    assert current_mask(w)[60, 60] == 255
    assert w.session.undo.steps[-2:] == ["Brush stroke", "Brush stroke"]
