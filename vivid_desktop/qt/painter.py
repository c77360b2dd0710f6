"""Mask painting in the viewer: tools (brush, eraser, polygon, rectangle, fill) and the mask panel.

The tools translate pointer input (image coordinates from the viewer) into calls on the Qt-free
``core.painter.MaskPainter``, which changes the mask and records one undo step per stroke or tool use.
The panel offers the tools, brush size/hardness, the mask operations and the overlay settings.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QMouseEvent, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.core import masks
from vivid_desktop.core.painter import MaskPainter
from vivid_desktop.qt.style import icon

#: tool name → (label, shortcut, icon)
TOOLS = {
    "none": ("Navigate", "V", "hand"),
    "brush": ("Brush", "B", "brush"),
    "eraser": ("Eraser", "E", "eraser"),
    "polygon": ("Polygon", "P", "polygon"),
    "rectangle": ("Rectangle", "R", "rectangle"),
    "fill": ("Fill", "G", "fill"),
    "select": ("Select object", "W", "select"),
}


def _pixel(pos: QPointF) -> tuple[float, float]:
    """Viewer image coordinates → mask pixel coordinates (pixel centres on integers)."""
    return pos.x() - 0.5, pos.y() - 0.5


class _Tool:
    """Common state of the tools: the painter to drive and the hover position for the cursor."""

    name = "none"

    def __init__(self, painter_of: Callable[[], MaskPainter | None], ensure_target: Callable[[], bool]):
        self._painter_of = painter_of
        self._ensure_target = ensure_target
        self.hover_pos: QPointF | None = None

    @property
    def painter(self) -> MaskPainter | None:
        return self._painter_of()

    def press(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def move(self, pos: QPointF, event: QMouseEvent) -> None:
        self.hover_pos = pos

    def release(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def hover(self, pos: QPointF) -> None:
        self.hover_pos = pos

    def paint(self, p: QPainter, viewer) -> None: ...
    def cancel(self) -> None: ...
    def finish(self) -> None: ...


class BrushTool(_Tool):
    """Brush (or eraser): one stroke per press–release, one undo step. Right button erases."""

    def __init__(self, painter_of, ensure_target, erase: bool = False) -> None:
        super().__init__(painter_of, ensure_target)
        self.erase = erase
        self.name = "eraser" if erase else "brush"
        self._active = False

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        if not self._ensure_target() or self.painter is None:
            return
        erase = self.erase or event.button() == Qt.MouseButton.RightButton
        self.painter.begin_stroke(erase=erase)
        self._active = True
        self.painter.stroke_to(*_pixel(pos))

    def move(self, pos: QPointF, event: QMouseEvent) -> None:
        self.hover_pos = pos
        if self._active and self.painter is not None:
            self.painter.stroke_to(*_pixel(pos))

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        if self._active and self.painter is not None:
            self._active = False
            self.painter.end_stroke()

    def cancel(self) -> None:
        if self._active and self.painter is not None:
            self._active = False
            self.painter.cancel_stroke()

    def paint(self, p: QPainter, viewer) -> None:
        if self.hover_pos is None or self.painter is None:
            return
        c = viewer.image_to_view(self.hover_pos)
        r = self.painter.radius * viewer.zoom
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 160), 3))
        p.drawEllipse(c, r, r)
        p.setPen(
            QPen(
                QColor(255, 255, 255, 230), 1.2, Qt.PenStyle.DashLine if self.erase else Qt.PenStyle.SolidLine
            )
        )
        p.drawEllipse(c, r, r)
        inner = r * self.painter.hardness
        if 2 < inner < r - 2:
            p.setPen(QPen(QColor(255, 255, 255, 90), 1))
            p.drawEllipse(c, inner, inner)


class RectangleTool(_Tool):
    """Drag a rectangle: fills it (right button or Alt: clears it)."""

    name = "rectangle"

    def __init__(self, painter_of, ensure_target) -> None:
        super().__init__(painter_of, ensure_target)
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._value = 255

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        clear = (
            event.button() == Qt.MouseButton.RightButton
            or event.modifiers() & Qt.KeyboardModifier.AltModifier
        )
        self._value = 0 if clear else 255
        self._start = self._end = pos

    def move(self, pos: QPointF, event: QMouseEvent) -> None:
        self.hover_pos = pos
        if self._start is not None:
            self._end = pos

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        start, self._start = self._start, None
        if start is None or not self._ensure_target() or self.painter is None:
            return
        x0, y0, x1, y1 = round(start.x()), round(start.y()), round(pos.x()), round(pos.y())
        if x0 != x1 and y0 != y1:
            self.painter.apply(masks.fill_rect, "Rectangle", x0, y0, x1, y1, value=self._value)

    def cancel(self) -> None:
        self._start = None

    def paint(self, p: QPainter, viewer) -> None:
        if self._start is None or self._end is None:
            return
        rect = QRectF(viewer.image_to_view(self._start), viewer.image_to_view(self._end)).normalized()
        p.setBrush(QColor(255, 255, 255, 40))
        p.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
        p.drawRect(rect)


class PolygonTool(_Tool):
    """Click vertices; close with a click on the first vertex, a double-click or Enter. Esc cancels."""

    name = "polygon"

    def __init__(self, painter_of, ensure_target) -> None:
        super().__init__(painter_of, ensure_target)
        self.points: list[QPointF] = []
        self._value = 255
        self._viewer_zoom = 1.0

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        if not self.points:
            clear = event.button() == Qt.MouseButton.RightButton
            self._value = 0 if clear else 255
        elif len(self.points) >= 3 and self._near_first(pos):
            self.finish()
            return
        self.points.append(pos)

    def _near_first(self, pos: QPointF) -> bool:
        d = self.points[0] - pos
        return (d.x() ** 2 + d.y() ** 2) ** 0.5 * self._viewer_zoom < 8

    def double_click(self, pos: QPointF) -> None:
        self.finish()

    def finish(self) -> None:
        points, self.points = self.points, []
        # a double-click also delivered a press at the same place: drop duplicates
        unique: list[QPointF] = []
        for q in points:
            if not unique or (unique[-1] - q).manhattanLength() > 0.5:
                unique.append(q)
        if len(unique) >= 3 and self._ensure_target() and self.painter is not None:
            pts = [(q.x(), q.y()) for q in unique]
            self.painter.apply(masks.fill_polygon, "Polygon", pts, value=self._value)

    def cancel(self) -> None:
        self.points = []

    def paint(self, p: QPainter, viewer) -> None:
        self._viewer_zoom = viewer.zoom
        if not self.points:
            return
        pts = [viewer.image_to_view(q) for q in self.points]
        if self.hover_pos is not None:
            pts.append(viewer.image_to_view(self.hover_pos))
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.setBrush(QColor(255, 255, 255, 40))
        p.drawPolygon(QPolygonF(pts))
        p.setBrush(QColor(255, 220, 90))
        for q in pts[: len(self.points)]:
            p.drawEllipse(q, 3.5, 3.5)


class FillTool(_Tool):
    """Flood-fill the region under the click (right button: fill with 0)."""

    name = "fill"

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        if not self._ensure_target() or self.painter is None:
            return
        value = 0 if event.button() == Qt.MouseButton.RightButton else 255
        x, y = int(pos.x()), int(pos.y())
        self.painter.apply(masks.flood_fill, "Fill", x, y, value=value, tolerance=8)


TRACK_HINT = "Paint a keyframe mask, then track it."


class QtMaskPanel(QWidget):
    """Tool buttons, brush settings, mask operations, tracking and overlay settings."""

    toolChosen = Signal(str)
    operation = Signal(str)  # feather / expand / shrink / hull / bbox / invert / holes / clear / copy_prev
    trackRequested = Signal()
    trackCancelRequested = Signal()
    brushChanged = Signal(float, float)  # radius, hardness
    overlayChanged = Signal(QColor, float, bool)  # colour, opacity, mask only
    showMaskChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("maskPanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        layout.addWidget(self._tools_box())
        layout.addWidget(self._brush_box())
        layout.addWidget(self._ops_box())
        layout.addWidget(self._track_box())
        layout.addWidget(self._overlay_box())
        layout.addStretch(1)

    # ---- sections -------------------------------------------------------------------------------
    def _tools_box(self) -> QGroupBox:
        box = QGroupBox("Tools")
        row = QHBoxLayout(box)
        row.setSpacing(2)
        self.tool_group = QButtonGroup(self)
        self.tool_buttons: dict[str, QToolButton] = {}
        for name, (label, key, icon_name) in TOOLS.items():
            b = QToolButton()
            b.setIcon(icon(icon_name))
            b.setCheckable(True)
            b.setToolTip(f"{label} ({QKeySequence(key).toString()})")
            b.setObjectName(f"tool_{name}")
            self.tool_group.addButton(b)
            self.tool_buttons[name] = b
            b.clicked.connect(lambda _c=False, n=name: self.toolChosen.emit(n))
            row.addWidget(b)
        row.addStretch(1)
        self.tool_buttons["none"].setChecked(True)
        return box

    def _brush_box(self) -> QGroupBox:
        box = QGroupBox("Brush")
        grid = QGridLayout(box)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, 300)
        self.size_slider.setValue(16)
        self.size_label = QLabel("16 px")
        self.size_slider.setToolTip("Brush radius in source pixels ( [ and ] )")
        self.hard_slider = QSlider(Qt.Orientation.Horizontal)
        self.hard_slider.setRange(0, 100)
        self.hard_slider.setValue(80)
        self.hard_label = QLabel("80 %")
        grid.addWidget(QLabel("Size"), 0, 0)
        grid.addWidget(self.size_slider, 0, 1)
        grid.addWidget(self.size_label, 0, 2)
        grid.addWidget(QLabel("Hardness"), 1, 0)
        grid.addWidget(self.hard_slider, 1, 1)
        grid.addWidget(self.hard_label, 1, 2)
        self.size_slider.valueChanged.connect(self._brush_moved)
        self.hard_slider.valueChanged.connect(self._brush_moved)
        return box

    def _brush_moved(self) -> None:
        self.size_label.setText(f"{self.size_slider.value()} px")
        self.hard_label.setText(f"{self.hard_slider.value()} %")
        self.brushChanged.emit(float(self.size_slider.value()), self.hard_slider.value() / 100.0)

    def show_brush(self, radius: float, hardness: float) -> None:
        for slider, value in ((self.size_slider, round(radius)), (self.hard_slider, round(hardness * 100))):
            slider.blockSignals(True)
            slider.setValue(int(value))
            slider.blockSignals(False)
        self.size_label.setText(f"{self.size_slider.value()} px")
        self.hard_label.setText(f"{self.hard_slider.value()} %")

    def _ops_box(self) -> QGroupBox:
        box = QGroupBox("Mask")
        grid = QGridLayout(box)
        grid.setSpacing(4)
        self.amount = QSpinBox()
        self.amount.setRange(1, 200)
        self.amount.setValue(6)
        self.amount.setSuffix(" px")
        self.amount.setToolTip("Distance used by Feather, Expand and Shrink")
        grid.addWidget(QLabel("Amount"), 0, 0)
        grid.addWidget(self.amount, 0, 1, 1, 2)
        ops = (
            ("feather", "Feather", "Soften the edge by Amount pixels"),
            ("expand", "Expand", "Grow the mask by Amount pixels"),
            ("shrink", "Shrink", "Shrink the mask by Amount pixels"),
            ("hull", "Hull", "Convex hull of the mask"),
            ("bbox", "Box", "Bounding box of the mask"),
            ("invert", "Invert", "Swap masked and unmasked"),
            ("holes", "Fill holes", "Fill the holes inside the mask"),
            ("clear", "Clear", "Clear the mask on this frame"),
            ("copy_prev", "Copy prev.", "Copy the mask of the previous keyframe onto this frame"),
        )
        self.op_buttons: dict[str, QPushButton] = {}
        for i, (key, label, tip) in enumerate(ops):
            b = QPushButton(label)
            b.setObjectName(f"op_{key}")
            b.setToolTip(tip)
            b.clicked.connect(lambda _c=False, k=key: self.operation.emit(k))
            grid.addWidget(b, 1 + i // 3, i % 3)
            self.op_buttons[key] = b
        return box

    def _track_box(self) -> QGroupBox:
        from PySide6.QtWidgets import QProgressBar

        box = QGroupBox("Mask tracking")
        col = QVBoxLayout(box)
        row = QHBoxLayout()
        self.track_button = QPushButton(icon("track"), "Track mask")
        self.track_button.setObjectName("trackButton")
        self.track_button.setToolTip("Carry the keyframe masks through the clip (or the in/out range)")
        self.track_cancel = QPushButton(icon("cancel"), "")
        self.track_cancel.setToolTip("Stop tracking")
        self.track_cancel.setEnabled(False)
        row.addWidget(self.track_button, 1)
        row.addWidget(self.track_cancel)
        col.addLayout(row)
        self.track_progress = QProgressBar()
        self.track_progress.setRange(0, 1000)
        self.track_progress.setTextVisible(True)
        self.track_progress.setFormat("")
        col.addWidget(self.track_progress)
        self.track_status = QLabel(TRACK_HINT)
        self.track_status.setWordWrap(True)
        col.addWidget(self.track_status)
        self.track_button.clicked.connect(self.trackRequested)
        self.track_cancel.clicked.connect(self.trackCancelRequested)
        return box

    def reset_tracking(self) -> None:
        """Another project: no progress, no message of the last one."""
        self.show_tracking(False, 0.0, TRACK_HINT)
        self.track_progress.setFormat("")

    def show_tracking(self, running: bool, fraction: float | None = None, text: str = "") -> None:
        self.track_button.setEnabled(not running)
        self.track_cancel.setEnabled(running)
        if fraction is not None:
            self.track_progress.setValue(int(fraction * 1000))
            self.track_progress.setFormat(f"{fraction * 100:.0f} %")
        if text:
            self.track_status.setText(text)

    def _overlay_box(self) -> QGroupBox:
        box = QGroupBox("Overlay")
        grid = QGridLayout(box)
        self.show_mask = QCheckBox("Show mask")
        self.show_mask.setChecked(True)
        self.mask_only = QCheckBox("Mask only")
        self.color_button = QPushButton("")
        self.color_button.setToolTip("Overlay colour")
        self.color_button.setFixedWidth(36)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self._color = QColor(47, 184, 255)
        self._paint_color_button()
        grid.addWidget(self.show_mask, 0, 0)
        grid.addWidget(self.mask_only, 0, 1)
        grid.addWidget(QLabel("Colour"), 1, 0)
        grid.addWidget(self.color_button, 1, 1)
        grid.addWidget(QLabel("Opacity"), 2, 0)
        grid.addWidget(self.opacity, 2, 1)
        self.show_mask.toggled.connect(self.showMaskChanged)
        self.mask_only.toggled.connect(self._overlay_moved)
        self.opacity.valueChanged.connect(self._overlay_moved)
        self.color_button.clicked.connect(self._pick_color)
        return box

    def _paint_color_button(self) -> None:
        self.color_button.setStyleSheet(f"background: {self._color.name()}; border: 1px solid #888;")

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(self._color, self, "Overlay colour")
        if color.isValid():
            self.set_overlay(color, self.opacity.value() / 100.0, self.mask_only.isChecked())
            self._overlay_moved()

    def set_overlay(self, color: QColor, opacity: float, mask_only: bool) -> None:
        self._color = QColor(color)
        self._paint_color_button()
        for w, v in ((self.opacity, int(opacity * 100)), (self.mask_only, mask_only)):
            w.blockSignals(True)
            if isinstance(w, QSlider):
                w.setValue(int(v))
            else:
                w.setChecked(bool(v))
            w.blockSignals(False)

    def _overlay_moved(self) -> None:
        self.overlayChanged.emit(
            QColor(self._color), self.opacity.value() / 100.0, self.mask_only.isChecked()
        )

    def set_tool(self, name: str) -> None:
        self.tool_buttons[name].setChecked(True)

    def set_enabled_for(self, has_project: bool) -> None:
        for b in [*self.tool_buttons.values(), *self.op_buttons.values(), self.track_button]:
            b.setEnabled(has_project)
