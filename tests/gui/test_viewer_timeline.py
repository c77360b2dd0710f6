"""The viewer (zoom, pan, overlay, compare modes) and the timeline (seek, zoom, markers, renders)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from vivid_desktop.qt.images import qimage_from_rgb, rgb_from_qimage
from vivid_desktop.qt.timeline import QtTimelinePanel
from vivid_desktop.qt.viewer import QtViewer

W, H = 160, 90


@pytest.fixture
def viewer(qtbot):
    v = QtViewer()
    v.resize(400, 300)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    v.set_frame_size(W, H)
    yield v
    v.close()


def pixel(viewer, x: float, y: float) -> np.ndarray:
    """The colour the viewer shows at image point (x, y)."""
    shot = rgb_from_qimage(viewer.grab().toImage())
    p = viewer.image_to_view(QPointF(x, y))
    return shot[int(p.y()), int(p.x())]


def solid(color) -> np.ndarray:
    return np.full((H, W, 3), color, np.uint8)


def test_zoom_fit_100_wheel_and_pan(qtbot, viewer):
    viewer.set_images(qimage_from_rgb(solid((10, 200, 10))))
    fit = viewer.zoom
    assert viewer.image_rect().width() <= 400 and abs(fit - min(376 / W, 276 / H)) < 1e-6
    viewer.zoom_100()
    assert viewer.zoom == 1.0
    anchor = QPointF(200, 150)
    under = viewer.view_to_image(anchor)
    QTest.mouseMove(viewer, QPoint(200, 150))
    from PySide6.QtGui import QWheelEvent

    event = QWheelEvent(
        anchor,
        viewer.mapToGlobal(anchor),
        QPoint(),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    viewer.wheelEvent(event)
    assert abs(viewer.zoom - 1.25) < 1e-6
    after = viewer.view_to_image(anchor)
    assert abs(after.x() - under.x()) < 1e-6 and abs(after.y() - under.y()) < 1e-6  # zoom about the cursor
    before = viewer.image_rect().topLeft()
    QTest.mousePress(viewer, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 100))
    QTest.mouseMove(viewer, QPoint(130, 90))
    QTest.mouseRelease(viewer, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(130, 90))
    moved = viewer.image_rect().topLeft() - before
    assert (round(moved.x()), round(moved.y())) == (30, -10)
    viewer.zoom_fit()
    assert abs(viewer.zoom - fit) < 1e-6


def test_mask_overlay_colour_opacity_and_mask_only(viewer):
    viewer.set_images(qimage_from_rgb(solid((0, 0, 0))))
    mask = np.zeros((H, W), np.uint8)
    mask[:, W // 2 :] = 255
    viewer.set_overlay(QColor(0, 0, 255), 0.5, False)
    viewer.set_mask(mask)
    left, right = pixel(viewer, 20, 45), pixel(viewer, 140, 45)
    assert left.tolist() == [0, 0, 0]
    assert right[2] in range(120, 135) and right[0] == 0  # half-transparent blue over black
    viewer.set_overlay(mask_only=True)
    assert pixel(viewer, 140, 45).tolist() == [255, 255, 255] and pixel(viewer, 20, 45).tolist() == [0, 0, 0]
    viewer.set_overlay(mask_only=False)
    # a brush dab patches the overlay in place (same array, a box)
    from vivid_desktop.core.masks import BBox

    mask[10:20, 10:20] = 255
    viewer.set_mask(mask, BBox(10, 10, 20, 20))
    assert pixel(viewer, 15, 15)[2] > 100
    viewer.set_show_mask(False)
    assert pixel(viewer, 140, 45).tolist() == [0, 0, 0]


def test_compare_modes(viewer):
    source, result = solid((200, 0, 0)), solid((0, 200, 0))
    result[:, :10] = source[:, :10]  # identical in a strip
    viewer.set_images(qimage_from_rgb(source), qimage_from_rgb(result))
    assert pixel(viewer, 80, 45).tolist() == [0, 200, 0]  # result
    viewer.set_compare("wipe")
    assert pixel(viewer, 40, 45).tolist() == [200, 0, 0]  # source left of the wipe
    assert pixel(viewer, 120, 45).tolist() == [0, 200, 0]
    # drag the wipe handle to the right
    start = viewer.image_to_view(QPointF(W / 2, H / 4))
    end = viewer.image_to_view(QPointF(W * 0.9, H / 4))
    QTest.mousePress(viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start.toPoint())
    QTest.mouseMove(viewer, end.toPoint())
    QTest.mouseRelease(viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end.toPoint())
    assert pixel(viewer, 120, 45).tolist() == [200, 0, 0]
    viewer.set_compare("side")
    left = viewer.image_rect(0)
    right = viewer.image_rect(1)
    # across, or one above the other when the view is tall (whichever shows the frames larger)
    assert (right.top() > left.bottom()) if viewer.stacked else (right.left() > left.right())
    assert abs(left.width() - right.width()) < 1e-6
    shot = rgb_from_qimage(viewer.grab().toImage())
    assert shot[int(left.center().y()), int(left.center().x())].tolist() == [200, 0, 0]
    assert shot[int(right.center().y()), int(right.center().x())].tolist() == [0, 200, 0]
    viewer.set_compare("difference")
    assert pixel(viewer, 5, 45).tolist() == [0, 0, 0]  # identical pixels are black
    assert pixel(viewer, 80, 45).tolist() == [255, 255, 0]  # |diff| × 4, clipped


@pytest.fixture
def timeline(qtbot):
    panel = QtTimelinePanel()
    panel.resize(800, 200)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    t = panel.timeline
    t.set_clip(240, Fraction(24))
    yield t
    panel.close()


def test_timeline_seek_zoom_and_markers(qtbot, timeline):
    t = timeline
    assert abs(t.frame_to_x(240) - (t.width() - 8)) < 1  # fits the clip
    with qtbot.waitSignal(t.seekRequested) as sig:
        QTest.mousePress(
            t,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            QPoint(round(t.frame_to_x(100.5)), 60),
        )
    assert sig.args == [100]
    frames: list[int] = []
    t.seekRequested.connect(frames.append)
    QTest.mouseMove(t, QPoint(round(t.frame_to_x(150.5)), 60))
    QTest.mouseRelease(
        t, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(round(t.frame_to_x(150.5)), 60)
    )
    assert frames[-1] == 150
    t.set_keyframes([30, 90], edited=[90])
    with qtbot.waitSignal(t.keyframeClicked) as sig:
        lane_y = 24 + 3 + 9  # the keys lane
        QTest.mousePress(
            t,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            QPoint(round(t.frame_to_x(30.5)), lane_y),
        )
    assert sig.args == [30]
    ppf = t.pixels_per_frame
    t.zoom_by(4.0, t.frame_to_x(120))
    assert abs(t.pixels_per_frame - 4 * ppf) < 1e-6
    assert abs(t.x_to_frame(t.frame_to_x(120.2)) - 120) <= 1  # zoomed about frame 120
    t.set_playhead(230)  # off screen: the view scrolls to show the playhead
    assert t.first_visible <= 230 < t.first_visible + t.visible_frames()
    t.zoom_fit()
    assert t.first_visible == 0


def test_timeline_paints_renders_windows_marks(timeline):
    t = timeline
    t.set_marks(20, 199)
    t.set_plan([(0, 49), (48, 97)], (0, 97))
    green = qimage_from_rgb(np.full((45, 80, 3), (0, 255, 0), np.uint8))
    for f in range(0, 40):
        t.add_rendered(f, green if f % 5 == 0 else None)
    assert t.rendered_frames == list(range(40))
    shot = rgb_from_qimage(t.grab().toImage())
    lanes = t._lanes()
    y_result = round(lanes["result"].center().y()) + 2  # inside the result lane, below the progress bar
    x_rendered = round(t.frame_to_x(30))
    assert shot[y_result, x_rendered].tolist() == [0, 255, 0]  # the streamed preview is drawn
    x_after = round(t.frame_to_x(150))
    assert shot[y_result, x_after].tolist() != [0, 255, 0]
    # outside the in/out marks the timeline is shaded darker than inside
    y_source = round(lanes["source"].center().y())
    before, inside = shot[y_source, round(t.frame_to_x(10))], shot[y_source, round(t.frame_to_x(60))]
    assert int(before.sum()) < int(inside.sum())
