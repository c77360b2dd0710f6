"""The viewer: the current frame with zoom, pan, the mask overlay and compare modes.

The viewer renders what it is given (images, a mask, labels) and forwards pointer input in *image*
coordinates to the active tool (``painter.py``); it owns no domain state. Images may be proxy-sized:
everything is drawn into the frame's full-resolution rectangle, so masks and tools always work in
source pixels.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from vivid_desktop.qt.images import difference_image, qimage_from_rgb, rgb_from_qimage


class Compare(StrEnum):
    """What the viewer shows: the result alone, or the result against the source."""

    OFF = "off"
    WIPE = "wipe"
    SIDE = "side"
    DIFFERENCE = "difference"


class ViewerTool(Protocol):
    """Pointer handling plugged into the viewer (brush, polygon …); coordinates are image pixels."""

    def press(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def move(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def release(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def hover(self, pos: QPointF) -> None: ...
    def paint(self, painter: QPainter, viewer: QtViewer) -> None: ...


_GAP = 8  # pixels between the panes of side-by-side
_EDGE_KERNEL = np.ones((3, 3), np.uint8)
_MIN_ZOOM, _MAX_ZOOM = 0.05, 32.0


class QtViewer(QWidget):
    """Shows one frame; zoom with the wheel, pan with the middle button (or Alt+drag)."""

    zoomChanged = Signal(float)
    compareChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewer")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 160)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._frame_size: tuple[int, int] = (0, 0)
        #: side-by-side draws the panes one above the other (the view is too narrow for them across)
        self.stacked = False
        self._source: QImage | None = None
        self._result: QImage | None = None
        self._difference: QImage | None = None
        self._mask: np.ndarray | None = None
        self._mask_rgba: np.ndarray | None = None
        self._mask_image: QImage | None = None
        self._mask_grey: QImage | None = None
        self._overlay_color = QColor(47, 184, 255)
        self._overlay_opacity = 0.45
        self._mask_only = False
        self._show_mask = True
        self.compare = Compare.OFF
        self._wipe = 0.5
        self._dragging_wipe = False
        self._scale = 1.0
        self._offset = QPointF(0, 0)
        self._fit = True
        self._pan_from: QPointF | None = None
        self._tool: ViewerTool | None = None
        self._tool_active = False
        self.label = ""
        self.badge = ""
        self.latent: QImage | None = None
        self.latent_caption = ""
        self._mask_box_of: np.ndarray | None = None
        self._mask_box: tuple[int, int, int, int] | None = None
        self.message = "Open a clip (File ▸ Open) or drop it here"

    # ---- content -------------------------------------------------------------------------------
    def set_frame_size(self, width: int, height: int) -> None:
        """The full-resolution size of the clip; images of any size are drawn into this rectangle."""
        if (width, height) != self._frame_size:
            self._frame_size = (width, height)
            self._fit = True
            self._refit()
        self.update()

    @property
    def frame_size(self) -> tuple[int, int]:
        return self._frame_size

    def set_images(self, source: QImage | None, result: QImage | None = None, badge: str = "") -> None:
        """The source frame and, when one exists, the rendered frame at the same position."""
        self._source = source
        self._result = result
        self._difference = None
        self.badge = badge
        self.update()

    def set_mask(self, mask: np.ndarray | None, box=None) -> None:
        """The mask to overlay (full-resolution uint8, 255 = region to edit), or None.

        ``box`` (a ``BBox``) limits the update to the pixels a brush dab changed: the overlay buffer is
        patched in place, so painting costs the dab's area, not the frame's.
        """
        same = mask is not None and mask is self._mask and self._mask_rgba is not None
        self._mask = mask
        if same and box is not None:
            self._patch_mask(box)
        else:
            self._rebuild_mask_images()
        self.update()

    def set_overlay(self, color: QColor | None = None, opacity: float | None = None, mask_only=None) -> None:
        if color is not None:
            self._overlay_color = QColor(color)
        if opacity is not None:
            self._overlay_opacity = float(opacity)
        if mask_only is not None:
            self._mask_only = bool(mask_only)
        self._rebuild_mask_images()
        self.update()

    def set_show_mask(self, show: bool) -> None:
        self._show_mask = show
        self.update()

    @property
    def overlay(self) -> tuple[QColor, float, bool]:
        return QColor(self._overlay_color), self._overlay_opacity, self._mask_only

    def set_compare(self, mode: Compare | str) -> None:
        mode = Compare(mode)
        if mode != self.compare:
            self.compare = mode
            if self._fit:
                self._refit()
            self.compareChanged.emit(mode.value)
            self.update()

    def set_label(self, text: str) -> None:
        self.label = text
        self.update()

    def set_latent(self, image: QImage | None, caption: str = "Denoising") -> None:
        """A latent preview of the window being denoised, drawn as an inset over the frame; None hides it."""
        if image is None and self.latent is None:
            return
        self.latent = image
        self.latent_caption = caption if image is not None else ""
        self.update()

    def set_tool(self, tool: ViewerTool | None) -> None:
        self._tool = tool
        self._tool_active = False
        self.setCursor(Qt.CursorShape.CrossCursor if tool else Qt.CursorShape.ArrowCursor)
        self.update()

    def _rebuild_mask_images(self) -> None:
        if self._mask is None:
            self._mask_rgba = None
            self._mask_image = self._mask_grey = None
            return
        h, w = self._mask.shape[:2]
        self._mask_rgba = np.empty((h, w, 4), np.uint8)
        self._mask_rgba[..., 0] = self._overlay_color.red()
        self._mask_rgba[..., 1] = self._overlay_color.green()
        self._mask_rgba[..., 2] = self._overlay_color.blue()
        self._mask_rgba[..., 3] = self._alpha(self._mask)
        # The QImages wrap our buffers (no copy): patching the buffer updates what is drawn.
        self._mask_image = QImage(self._mask_rgba.data, w, h, w * 4, QImage.Format.Format_RGBA8888)
        self._mask_grey = QImage(
            self._mask.data, w, h, self._mask.strides[0], QImage.Format.Format_Grayscale8
        )

    def _alpha(self, values: np.ndarray) -> np.ndarray:
        """Overlay alpha: the mask scaled by the opacity, and an opaque outline along its edge (so the
        region reads on busy footage at any opacity)."""
        scale = round(max(0.0, min(1.0, self._overlay_opacity)) * 255)
        alpha = (values.astype(np.uint16) * scale // 255).astype(np.uint8)
        inside = (values >= 128).astype(np.uint8)
        edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, _EDGE_KERNEL) > 0
        alpha[edge] = 235
        return alpha

    def _patch_mask(self, box) -> None:
        mask, rgba = self._mask, self._mask_rgba
        if mask is None or rgba is None:
            return
        h, w = mask.shape[:2]
        # one pixel more on each side: the outline of the changed region reaches just outside it
        x0, y0, x1, y1 = max(0, box.x0 - 2), max(0, box.y0 - 2), min(w, box.x1 + 2), min(h, box.y1 + 2)
        rgba[y0:y1, x0:x1, 3] = self._alpha(mask[y0:y1, x0:x1])

    # ---- zoom and pan -------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self._scale

    def zoom_fit(self) -> None:
        self._fit = True
        self._refit()
        self.update()

    def zoom_100(self) -> None:
        self.set_zoom(1.0, QPointF(self.width() / 2, self.height() / 2))

    def set_zoom(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``scale`` keeping the image point under ``anchor`` (view coordinates) in place."""
        scale = max(_MIN_ZOOM, min(_MAX_ZOOM, scale))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        image_pt = self.view_to_image(anchor)
        self._scale = scale
        self._offset = anchor - image_pt * scale
        self._fit = False
        self.zoomChanged.emit(scale)
        self.update()

    def _side_scales(self) -> tuple[float, float]:
        """Fit scales of side-by-side with the panes across and stacked (one above the other)."""
        w, h = self._frame_size
        aw, ah = self.width() - 24, self.height() - 24
        return min((aw - _GAP) / (2 * w), ah / h), min(aw / w, (ah - _GAP) / (2 * h))

    def _refit(self) -> None:
        w, h = self._frame_size
        if not w or not h or self.width() < 2 or self.height() < 2:
            return
        side = self.compare is Compare.SIDE
        if side:  # the arrangement that shows the frames larger: across on wide views, else stacked
            across, stacked = self._side_scales()
            self.stacked = stacked > across
            scale = max(across, stacked)
        else:
            self.stacked = False
            scale = min((self.width() - 24) / w, (self.height() - 24) / h)
        self._scale = max(_MIN_ZOOM, scale)
        drawn_w = w * self._scale * (2 if side and not self.stacked else 1)
        drawn_h = h * self._scale * (2 if self.stacked else 1)
        gap_w, gap_h = (_GAP, 0) if side and not self.stacked else (0, _GAP if self.stacked else 0)
        self._offset = QPointF((self.width() - drawn_w - gap_w) / 2, (self.height() - drawn_h - gap_h) / 2)
        self.zoomChanged.emit(self._scale)

    def resizeEvent(self, event) -> None:
        if self._fit:
            self._refit()
        super().resizeEvent(event)

    def image_to_view(self, p: QPointF) -> QPointF:
        return self._offset + p * self._scale

    def view_to_image(self, p: QPointF) -> QPointF:
        return (p - self._offset) * (1.0 / self._scale)

    def image_rect(self, pane: int = 0) -> QRectF:
        """Where the frame (pane 0: main/left/top, 1: the other pane of side-by-side) lies in the view."""
        w, h = self._frame_size
        if self.stacked:
            y = self._offset.y() + pane * (h * self._scale + _GAP)
            return QRectF(self._offset.x(), y, w * self._scale, h * self._scale)
        x = self._offset.x() + pane * (w * self._scale + _GAP)
        return QRectF(x, self._offset.y(), w * self._scale, h * self._scale)

    # ---- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window().color().darker(130))
        if not self._frame_size[0] or self._source is None:
            self._paint_message(p)
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._scale < 2.0)
        result = self._result if self._result is not None else self._source
        main = self.image_rect(0)
        if self.compare is Compare.SIDE:
            self._draw_image(p, self._source, main)
            self._draw_mask(p, main)
            self._draw_image(p, result, self.image_rect(1))
            self._pane_caption(p, main, "Source")
            self._pane_caption(p, self.image_rect(1), "Result")
        elif self.compare is Compare.WIPE:
            self._draw_image(p, result, main)
            split = main.left() + main.width() * self._wipe
            p.save()
            p.setClipRect(QRectF(main.left(), main.top(), split - main.left(), main.height()))
            self._draw_image(p, self._source, main)
            p.restore()
            self._draw_mask(p, main)
            self._draw_wipe_line(p, main, split)
        elif self.compare is Compare.DIFFERENCE:
            self._draw_image(p, self._difference_image(result), main)
            self._pane_caption(p, main, "Difference |result − source| × 4")
        else:
            self._draw_image(p, result, main)
            self._draw_mask(p, main)
        if self._tool is not None:
            self._tool.paint(p, self)
        self._paint_latent(p)
        self._paint_hud(p)
        p.end()

    def _draw_image(self, p: QPainter, image: QImage | None, rect: QRectF) -> None:
        if image is not None:
            p.drawImage(rect, image)

    def _draw_mask(self, p: QPainter, rect: QRectF) -> None:
        if not self._show_mask or self._mask is None:
            return
        if self._mask_only and self._mask_grey is not None:
            p.drawImage(rect, self._mask_grey)
        elif self._mask_image is not None:
            p.drawImage(rect, self._mask_image)

    def _difference_image(self, result: QImage) -> QImage:
        if self._difference is None and self._source is not None:
            a, b = rgb_from_qimage(result), rgb_from_qimage(self._source)
            if a.shape != b.shape:  # a proxy source against a full-size render: compare at one size
                b = rgb_from_qimage(self._source.scaled(result.width(), result.height()))
            self._difference = qimage_from_rgb(difference_image(a, b))
        return self._difference if self._difference is not None else result

    def _draw_wipe_line(self, p: QPainter, rect: QRectF, x: float) -> None:
        p.setPen(QPen(QColor(255, 255, 255, 220), 2))
        p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        p.setBrush(QColor(255, 255, 255, 220))
        p.drawEllipse(QPointF(x, rect.center().y()), 7, 7)
        self._pane_caption(p, rect, "Source ◂ ▸ Result")

    def _pane_caption(self, p: QPainter, rect: QRectF, text: str, above: bool = False) -> None:
        """A label in the bottom-left corner of ``rect`` (``above``: just over its top edge)."""
        p.save()
        p.setFont(QFont(self.font().family(), 9))
        metrics = p.fontMetrics()
        top = rect.top() - metrics.height() - 6 if above else rect.bottom() - metrics.height() - 10
        if above and top < 2:  # no room over it: just under it instead
            top = rect.bottom() + 2
        box = QRectF(
            rect.left() + (0 if above else 6),
            top,
            metrics.horizontalAdvance(text) + 12,
            metrics.height() + 4,
        )
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 3, 3)
        p.setPen(QColor(235, 235, 235))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    def latent_rect(self) -> QRectF:
        """Where the latent inset is drawn: the corner of the frame farthest from the mask (the object
        being edited stays visible); empty when there is none."""
        if self.latent is None or self.latent.isNull():
            return QRectF()
        main = self.image_rect(0)
        width = max(48.0, min(240.0, main.width() * 0.3))
        height = width * self.latent.height() / max(1, self.latent.width())
        corners = [
            QRectF(x, y, width, height)
            for y in (main.bottom() - height - 8, main.top() + 8)
            for x in (main.right() - width - 8, main.left() + 8)
        ]
        box = self._mask_view_box()
        if box is None:
            return corners[0]
        return min(corners, key=lambda c: _overlap(c, box) * 1e6 - _distance(c, box))

    def _mask_view_box(self) -> QRectF | None:
        """The mask's bounding box in view coordinates (cached per mask array)."""
        mask = self._mask
        if mask is None:
            return None
        if self._mask_box_of is not mask:
            ys, xs = np.nonzero(mask[::4, ::4])  # a quarter-resolution look is enough to place the inset
            self._mask_box = (
                None if len(xs) == 0 else (4 * xs.min(), 4 * ys.min(), 4 * xs.max() + 4, 4 * ys.max() + 4)
            )
            self._mask_box_of = mask
        if self._mask_box is None:
            return None
        x0, y0, x1, y1 = self._mask_box
        a, b = self.image_to_view(QPointF(x0, y0)), self.image_to_view(QPointF(x1, y1))
        return QRectF(a, b)

    def _paint_latent(self, p: QPainter) -> None:
        """The latent inset: the model's view of the window being denoised, not a result."""
        box = self.latent_rect()
        if self.latent is None or box.isEmpty():
            return
        p.save()
        p.setPen(QPen(QColor(255, 255, 255, 200), 1))
        p.drawImage(box, self.latent)
        p.drawRect(box)
        p.restore()
        self._pane_caption(p, box, self.latent_caption, above=True)  # the preview itself stays clear

    def _paint_hud(self, p: QPainter) -> None:
        p.save()
        p.setFont(QFont("monospace", 9))
        metrics = p.fontMetrics()
        for text, right in ((self.label, False), (self._hud_right(), True)):
            if not text:
                continue
            width = metrics.horizontalAdvance(text) + 14
            x = self.width() - width - 8 if right else 8
            box = QRectF(x, 8, width, metrics.height() + 6)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 160))
            p.drawRoundedRect(box, 4, 4)
            p.setPen(QColor(240, 240, 240))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    def _hud_right(self) -> str:
        parts = [f"{self._scale * 100:.0f}%"]
        if self.badge:
            parts.insert(0, self.badge)
        return "  ".join(parts)

    def _paint_message(self, p: QPainter) -> None:
        p.setPen(QColor(170, 170, 170))
        p.setFont(QFont(self.font().family(), 12))
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)

    # ---- input ---------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        if not self._frame_size[0]:
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self._scale * (1.25**steps), event.position())
        event.accept()

    def _near_wipe(self, pos: QPointF) -> bool:
        if self.compare is not Compare.WIPE:
            return False
        rect = self.image_rect(0)
        return (
            abs(pos.x() - (rect.left() + rect.width() * self._wipe)) < 8
            and rect.top() <= pos.y() <= rect.bottom()
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and alt
        ):
            self._pan_from = pos
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif event.button() == Qt.MouseButton.LeftButton and self._near_wipe(pos):
            self._dragging_wipe = True
        elif self._tool is not None and self._frame_size[0]:
            self._tool_active = True
            self._tool.press(self.view_to_image(pos), event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._pan_from is not None:
            self._offset += pos - self._pan_from
            self._pan_from = pos
            self._fit = False
            self.update()
        elif self._dragging_wipe:
            rect = self.image_rect(0)
            self._wipe = min(1.0, max(0.0, (pos.x() - rect.left()) / max(1.0, rect.width())))
            self.update()
        elif self._tool is not None:
            if self._tool_active:
                self._tool.move(self.view_to_image(pos), event)
            else:
                self._tool.hover(self.view_to_image(pos))
            self.update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._pan_from is not None:
            self._pan_from = None
            self.setCursor(Qt.CursorShape.CrossCursor if self._tool else Qt.CursorShape.ArrowCursor)
        elif self._dragging_wipe:
            self._dragging_wipe = False
        elif self._tool is not None and self._tool_active:
            self._tool_active = False
            self._tool.release(self.view_to_image(pos), event)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # Qt delivers the second press of a quick double click as this event instead of a press: a tool
        # without a double-click meaning (brush, rectangle …) must still see it as a press.
        handler = getattr(self._tool, "double_click", None)
        if handler is not None and event.button() == Qt.MouseButton.LeftButton:
            handler(self.view_to_image(event.position()))
            event.accept()
        else:
            self.mousePressEvent(event)

    def leaveEvent(self, event) -> None:
        if self._tool is not None:
            self._tool.hover(QPointF(-1e9, -1e9))
            self.update()
        super().leaveEvent(event)


def _overlap(a: QRectF, b: QRectF) -> float:
    inter = a.intersected(b)
    return 0.0 if inter.isEmpty() else inter.width() * inter.height()


def _distance(a: QRectF, b: QRectF) -> float:
    d = a.center() - b.center()
    return (d.x() ** 2 + d.y() ** 2) ** 0.5
