"""The mask being painted, Qt-free: one edit's mask at one frame, the brush, and undo.

A viewer widget renders ``painter.mask`` and sends pointer intents; the painter changes the mask, keeps
the store up to date and records one undo step per stroke or tool use::

    painter = MaskPainter(store, log)                  # log: the project's UndoLog
    painter.events.mask_changed.connect(lambda ev: view.update_rect(ev.box))     # box: BBox | None
    painter.set_target(edit.id, frame)
    painter.radius, painter.hardness = 20, 0.8
    painter.begin_stroke(erase=False)                  # mouse press
    painter.stroke_to(x, y)                            # mouse move(s): returns the box to repaint
    painter.end_stroke()                               # mouse release: one undo step "Brush stroke"
    painter.apply(masks.feather, "Feather", 4)         # any masks.* tool: one undo step
    painter.apply(masks.fill_rect, "Rectangle", 10, 10, 80, 60)

Painting on a frame that is not a keyframe makes it one (an anchor), starting from the mask shown there
(tracked or nearest), in the same undo step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from vivid_desktop.core.events import EmitterGroup, Event
from vivid_desktop.core.masks import BBox, draw_stroke
from vivid_desktop.core.store import ProjectStore
from vivid_desktop.core.store_events import MaskChanged
from vivid_desktop.core.undo import MaskEdit, UndoLog


@dataclass(frozen=True, slots=True, kw_only=True)
class PainterMaskChanged(Event):
    """The painted mask changed inside ``box`` (None: anywhere, e.g. a new target): repaint it."""

    box: BBox | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetChanged(Event):
    """The painter now shows ``edit_id``'s mask at ``frame`` (None: nothing to paint)."""

    edit_id: str | None
    frame: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BrushChanged(Event):
    radius: float
    hardness: float


PainterEvent: TypeAlias = PainterMaskChanged | TargetChanged | BrushChanged


class PainterEvents(EmitterGroup[PainterEvent]):
    """``painter.events``."""

    def __init__(self) -> None:
        super().__init__()
        self.mask_changed = self.add(PainterMaskChanged)
        self.target_changed = self.add(TargetChanged)
        self.brush_changed = self.add(BrushChanged)


class MaskPainter:
    """Paints one edit's mask at one frame; see the module docstring."""

    def __init__(self, store: ProjectStore, log: UndoLog | None = None) -> None:
        self.store = store
        self.log = log if log is not None else UndoLog()
        self.events = PainterEvents()
        self.radius: float = 16.0
        self.hardness: float = 0.8
        self.edit_id: str | None = None
        self.frame: int | None = None
        self.mask: np.ndarray = store.blank_mask()
        self._stroke: tuple[np.ndarray, list[tuple[float, float]], bool] | None = None
        self._writing = False
        store.events.mask_changed.connect(self._on_store_mask)

    def close(self) -> None:
        self.store.events.mask_changed.disconnect(self._on_store_mask)

    # ------------------------------------------------------------------ target
    def set_target(self, edit_id: str | None, frame: int | None) -> None:
        """Show and paint the mask of ``edit_id`` at ``frame`` (None: nothing to paint)."""
        if self._stroke is not None:
            self.end_stroke()
        self.edit_id, self.frame = edit_id, frame
        self._reload()
        self.events.emit(TargetChanged(edit_id=edit_id, frame=frame))

    @property
    def is_keyframe(self) -> bool:
        if self.edit_id is None or self.frame is None:
            return False
        return self.store.project.edit(self.edit_id).keyframe(self.frame) is not None

    def _reload(self) -> None:
        mask = None
        if self.edit_id is not None and self.frame is not None:
            mask = self.store.frame_mask(self.edit_id, self.frame)
        self.mask = mask if mask is not None else self.store.blank_mask()
        self.events.emit(PainterMaskChanged(box=None))

    def _on_store_mask(self, ev: MaskChanged) -> None:
        if self._writing or self._stroke is not None or self.edit_id is None or self.frame is None:
            return
        if (ev.edit_id, ev.frame) == (self.edit_id, self.frame):
            if ev.box is not None and self.is_keyframe:
                self.mask[ev.box.slices] = self.store.read_mask(self.edit_id, self.frame)[ev.box.slices]
            else:
                self._reload()
                return
            self.events.emit(PainterMaskChanged(box=ev.box))

    def set_brush(self, radius: float | None = None, hardness: float | None = None) -> None:
        """Change the brush (``[`` and ``]`` in the GUI)."""
        if radius is not None:
            self.radius = max(0.5, float(radius))
        if hardness is not None:
            self.hardness = min(1.0, max(0.0, float(hardness)))
        self.events.emit(BrushChanged(radius=self.radius, hardness=self.hardness))

    # ----------------------------------------------------------------- strokes
    def _require_target(self) -> tuple[str, int]:
        if self.edit_id is None or self.frame is None:
            raise RuntimeError("choose an edit and a frame before painting")
        return self.edit_id, self.frame

    def begin_stroke(self, erase: bool = False) -> None:
        """Start a brush (or eraser) stroke; the mask before it is kept for undo."""
        self._require_target()
        self._stroke = (self.mask.copy(), [], erase)

    def stroke_to(self, x: float, y: float) -> BBox | None:
        """Extend the stroke to ``(x, y)``; returns the box that changed."""
        if self._stroke is None:
            self.begin_stroke()
        assert self._stroke is not None
        _before, points, erase = self._stroke
        segment = [*points[-1:], (float(x), float(y))]
        points.append((float(x), float(y)))
        box = draw_stroke(self.mask, segment, self.radius, self.hardness, erase=erase)
        if box is not None:
            self.events.emit(PainterMaskChanged(box=box))
        return box

    def end_stroke(self) -> None:
        """Finish the stroke: one undo step, and the store gets the new mask."""
        if self._stroke is None:
            return
        before, _points, erase = self._stroke
        self._stroke = None
        self._commit("Eraser stroke" if erase else "Brush stroke", before)

    def cancel_stroke(self) -> None:
        """Drop the stroke in progress (Esc)."""
        if self._stroke is not None:
            before = self._stroke[0]
            self._stroke = None
            self.mask = before
            self.events.emit(PainterMaskChanged(box=None))

    # ------------------------------------------------------------------- tools
    def apply(self, tool: Callable[..., np.ndarray], label: str, *args: Any, **kwargs: Any) -> None:
        """Replace the mask by ``tool(mask, *args, **kwargs)`` (any ``masks`` function), as one undo step."""
        self._require_target()
        before = self.mask.copy()
        self.mask = np.ascontiguousarray(tool(self.mask, *args, **kwargs), dtype=np.uint8)
        self._commit(label, before)

    def set_mask(self, mask: np.ndarray, label: str = "Replace mask") -> None:
        """Replace the whole mask (paste, copy from the previous keyframe), as one undo step."""
        self.apply(lambda _m: mask.copy(), label)

    def _commit(self, label: str, before: np.ndarray) -> None:
        edit_id, frame = self._require_target()
        store = self.store
        edit = MaskEdit.from_masks(
            label, before, self.mask, lambda box, px: store.patch_mask(edit_id, frame, box, px)
        )
        if edit is None:
            return
        with self.log.transaction(label):
            self._writing = True
            try:
                if not self.is_keyframe:  # painting on any frame makes it an anchor
                    store.add_keyframe(edit_id, frame, before)
                store.set_mask(edit_id, frame, self.mask, box=edit.box)
            finally:
                self._writing = False
            self.log.push(edit)
        self.events.emit(PainterMaskChanged(box=edit.box))
