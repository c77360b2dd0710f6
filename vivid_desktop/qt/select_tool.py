"""The Select tool of the mask painter: click the object (right click or Alt: not this), or drag a box
around it; the object is segmented on a worker thread (:mod:`vivid_desktop.core.select`, GrabCut) and
added to the mask as one undo step per click. Enter or Esc ends the selection; refine with the brush.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen

from vivid_desktop.core.select import Prompt, select_object
from vivid_desktop.qt.painter import _Tool

#: A press and release farther apart than this (image pixels) is a box, not a click.
DRAG_PIXELS = 4.0


class SelectTool(_Tool):
    """Positive/negative clicks and a box → the object's mask, added to what was there before."""

    name = "select"

    def __init__(
        self,
        painter_of,
        ensure_target,
        frame_of: Callable[[int], np.ndarray],
        run: Callable[..., object],
        report: Callable[[str], None] = lambda _text: None,
    ) -> None:
        super().__init__(painter_of, ensure_target)
        self._frame_of, self._run, self._report = frame_of, run, report
        self._reset()

    def _reset(self) -> None:
        self.positive: list[tuple[float, float]] = []
        self.negative: list[tuple[float, float]] = []
        self.box: tuple[float, float, float, float] | None = None
        self._base: np.ndarray | None = None  # the mask before this selection began
        self._target: tuple[str | None, int | None] | None = None
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._asked = self._shown = 0  # only the newest answer is shown

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        self._start = self._end = pos
        self._negative = event.button() == Qt.MouseButton.RightButton or bool(
            event.modifiers() & Qt.KeyboardModifier.AltModifier
        )

    def move(self, pos: QPointF, event: QMouseEvent) -> None:
        self.hover_pos = pos
        if self._start is not None:
            self._end = pos

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        start, self._start = self._start, None
        if start is None or not self._ensure_target() or self.painter is None:
            return
        painter = self.painter
        target = (painter.edit_id, painter.frame)
        if target != self._target:  # another frame or edit: a new selection
            self._reset()
            self._target, self._base = target, painter.mask.copy()
        if (pos - start).manhattanLength() > DRAG_PIXELS:
            self.box = (
                min(start.x(), pos.x()),
                min(start.y(), pos.y()),
                max(start.x(), pos.x()),
                max(start.y(), pos.y()),
            )
        elif self._negative:
            self.negative.append((pos.x(), pos.y()))
        else:
            self.positive.append((pos.x(), pos.y()))
        self._ask()

    def _ask(self) -> None:
        if not self.positive and self.box is None:
            self._report("Click on the object (or drag a box around it) to select it.")
            return
        prompt = Prompt(list(self.positive), list(self.negative), self.box)
        target = self._target
        frame = target[1] if target is not None and target[1] is not None else 0
        self._asked += 1
        ask = self._asked
        self._report("Selecting …")
        self._run(
            lambda: select_object(np.asarray(self._frame_of(frame)), prompt),
            on_result=lambda mask: self._show(ask, target, mask),
            on_error=lambda exc: self._report(f"Selection failed: {exc}"),
            name="select-object",
        )

    def _show(self, ask: int, target, selected: np.ndarray) -> None:
        painter = self.painter
        if ask != self._asked or painter is None or target != self._target or self._base is None:
            return  # a newer click is on its way, or the user moved on
        if (painter.edit_id, painter.frame) != target:
            return
        base = self._base
        painter.apply(lambda _m: np.maximum(base, selected), "Select object")
        self._shown = ask
        self._report("Selected: click to add (right click: remove), Enter to finish, brush to refine.")

    def cancel(self) -> None:
        self._reset()

    def finish(self) -> None:
        self._reset()

    def paint(self, p: QPainter, viewer) -> None:
        if self._start is not None and self._end is not None:
            rect = QRectF(viewer.image_to_view(self._start), viewer.image_to_view(self._end)).normalized()
            p.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
            p.drawRect(rect)
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            rect = QRectF(viewer.image_to_view(QPointF(x0, y0)), viewer.image_to_view(QPointF(x1, y1)))
            p.setPen(QPen(QColor(120, 200, 255), 1))
            p.drawRect(rect.normalized())
        for points, colour in ((self.positive, QColor(80, 220, 120)), (self.negative, QColor(240, 80, 80))):
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.setBrush(colour)
            for x, y in points:
                p.drawEllipse(viewer.image_to_view(QPointF(x, y)), 5, 5)
