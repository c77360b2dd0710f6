"""The mask tools of the editor: which tool the viewer uses, brush size keys, and the mask operations.

A controller between the mask panel, the viewer and the session's ``MaskPainter``: it keeps no mask
itself; every change goes through the painter (one undo step per stroke or operation).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from vivid_desktop.core import masks
from vivid_desktop.qt.painter import BrushTool, FillTool, PolygonTool, QtMaskPanel, RectangleTool
from vivid_desktop.qt.select_tool import SelectTool
from vivid_desktop.qt.session import EditorSession
from vivid_desktop.qt.viewer import QtViewer

#: operation key → (mask function, undo label, whether it takes the panel's Amount)
OPERATIONS: dict[str, tuple[Callable[..., np.ndarray], str, bool]] = {
    "feather": (masks.feather, "Feather", True),
    "expand": (masks.expand, "Expand", True),
    "shrink": (masks.shrink, "Shrink", True),
    "hull": (masks.convex_hull, "Convex hull", False),
    "bbox": (masks.bounding_box, "Bounding box", False),
    "invert": (masks.invert, "Invert", False),
    "holes": (masks.fill_holes, "Fill holes", False),
    "clear": (masks.clear, "Clear mask", False),
}


class MaskTools(QObject):
    """Tool choice, brush size and mask operations for the frame under the playhead."""

    message = Signal(str)

    def __init__(self, session: EditorSession, viewer: QtViewer, panel: QtMaskPanel, parent=None) -> None:
        super().__init__(parent)
        self.session, self.viewer, self.panel = session, viewer, panel
        painter_of = lambda: session.painter  # noqa: E731
        self.tools = {
            "none": None,
            "brush": BrushTool(painter_of, self.ensure_target),
            "eraser": BrushTool(painter_of, self.ensure_target, erase=True),
            "polygon": PolygonTool(painter_of, self.ensure_target),
            "rectangle": RectangleTool(painter_of, self.ensure_target),
            "fill": FillTool(painter_of, self.ensure_target),
            "select": SelectTool(
                painter_of, self.ensure_target, self._frame, session.pool.run, self.message.emit
            ),
        }
        self.name = "none"

    def ensure_target(self) -> bool:
        """Before painting: make sure an edit is selected (a new *delete* edit if there is none)."""
        s = self.session
        if s.store is None or s.painter is None:
            return False
        if s.edit is None:
            s.new_edit("delete")
        if s.painter.edit_id != s.edit_id or s.painter.frame != s.frame:
            s.painter.set_target(s.edit_id, s.frame)
        return s.painter.edit_id is not None

    def _frame(self, n: int):
        """Frame ``n`` of the open clip (called on a worker thread by the Select tool)."""
        reader = self.session.frames.reader
        if reader is None:
            raise RuntimeError("no clip is open")
        return reader.read(n)

    def set_tool(self, name: str) -> None:
        current = self.tools.get(self.name)
        if current is not None:
            current.cancel()
        self.name = name
        self.viewer.set_tool(self.tools.get(name))
        self.panel.set_tool(name)

    def scale_brush(self, factor: float) -> None:
        painter = self.session.painter
        if painter is not None:
            painter.set_brush(radius=max(1.0, min(300.0, painter.radius * factor)))
            self.panel.show_brush(painter.radius, painter.hardness)
            self.viewer.update()

    def finish(self) -> None:
        tool = self.tools.get(self.name)
        if tool is not None:
            tool.finish()
            self.viewer.update()

    def cancel(self) -> None:
        tool = self.tools.get(self.name)
        if tool is not None:
            tool.cancel()
            self.viewer.update()

    def operation(self, op: str) -> None:
        """One of the panel's operations on the mask at the playhead (one undo step)."""
        if not self.ensure_target():
            return
        if op == "copy_prev":
            self.copy_previous_keyframe()
            return
        fn, label, takes_amount = OPERATIONS[op]
        args = (self.panel.amount.value(),) if takes_amount else ()
        painter = self.session.painter
        assert painter is not None  # ensure_target made one
        painter.apply(fn, label, *args)

    def copy_previous_keyframe(self) -> None:
        s = self.session
        earlier = [f for f in s.keyframe_frames() if f < s.frame]
        if not earlier or s.store is None or s.painter is None or s.edit_id is None:
            self.message.emit("There is no keyframe before this frame to copy from.")
            return
        mask = s.store.read_mask(s.edit_id, earlier[-1])
        label = f"Copy mask from frame {earlier[-1]}"
        with s.undo.transaction(label):
            if not s.painter.is_keyframe:  # the copy makes this frame a keyframe even when it looks the same
                s.store.add_keyframe(s.edit_id, s.frame, mask)
            s.painter.set_mask(mask, label)
