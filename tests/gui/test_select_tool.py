"""The Select tool: a click on the object selects it (GrabCut on a worker thread), a right click takes a
part away, a box selects what it holds; each answer is one undo step, and the brush refines it after."""

from __future__ import annotations

import numpy as np
from guitools import settle
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0) & (b > 0)).sum() / max(1, ((a > 0) | (b > 0)).sum()))


def view_point(window, x: float, y: float) -> QPoint:
    p = window.viewer.image_to_view(QPointF(x, y))
    return QPoint(round(p.x()), round(p.y()))


def click(window, x, y, button=Qt.MouseButton.LeftButton) -> None:
    QTest.mouseClick(window.viewer, button, Qt.KeyboardModifier.NoModifier, view_point(window, x, y))


def test_click_and_box_select_the_object_and_undo_takes_each_back(qtbot, opened, scene):
    w, s = opened, opened.session
    truth = scene.masks[0]
    ys, xs = np.nonzero(truth)
    w.set_tool("select")
    assert w.mask_panel.tool_buttons["select"].isChecked()
    click(w, xs.mean(), ys.mean())
    qtbot.waitUntil(lambda: s.edit is not None and s.painter.mask.any(), timeout=20000)
    settle(qtbot)
    first = s.store.read_mask(s.edit_id, 0)
    assert iou(first, truth) >= 0.6, iou(first, truth)  # a striped two-colour object: one click, one part
    assert s.keyframe_frames() == [0]

    w.set_tool("brush")
    w.set_tool("select")  # a new selection starts from the mask as it is
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
    QTest.mousePress(
        w.viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(w, x0 - 4, y0 - 4)
    )
    QTest.mouseMove(w.viewer, view_point(w, x1 + 4, y1 + 4))
    QTest.mouseRelease(
        w.viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(w, x1 + 4, y1 + 4)
    )
    qtbot.waitUntil(lambda: not np.array_equal(s.painter.mask, first), timeout=20000)
    settle(qtbot)
    boxed = s.store.read_mask(s.edit_id, 0)
    assert iou(boxed, truth) >= 0.75 and (boxed >= first).all()  # a selection only adds

    s.undo.undo()
    settle(qtbot)
    np.testing.assert_array_equal(s.store.read_mask(s.edit_id, 0), first)
