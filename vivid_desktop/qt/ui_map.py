"""For tests that drive the real application with real input events (tests/display): where things are
on the screen and what state the editor is in, written as JSON to ``VIVID_DESKTOP_UI_MAP`` a few times
a second. Only public facts are written (screen rectangles, counts, texts), so the driving test never
reaches into the window's insides; nothing is written unless the variable is set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QPushButton, QWidget

if TYPE_CHECKING:
    from vivid_desktop.qt.main_window import MainWindow


def _rect(widget: QWidget, rect: QRect | None = None) -> list[int]:
    rect = rect or widget.rect()
    top_left = widget.mapToGlobal(rect.topLeft())
    return [top_left.x(), top_left.y(), rect.width(), rect.height()]


def _mask_pixels(w: MainWindow) -> int:
    painter = w.session.painter
    mask = painter.mask if painter is not None else None
    return int((mask > 0).sum()) if mask is not None else 0


def snapshot(w: MainWindow) -> dict:
    """The facts a driving test needs (global screen coordinates: x, y, width, height)."""
    s = w.session
    frame = w.viewer.image_rect(0).toRect()
    lanes = {k: _rect(w.timeline, r.toRect()) for k, r in w.timeline._lanes().items()}
    edit = s.edit
    dialogs = {}
    for dialog in QApplication.topLevelWidgets():
        if isinstance(dialog, QDialog) and dialog.isVisible():
            pushes = [b for b in dialog.findChildren(QPushButton) if b.isVisible()]
            buttons = {b.text().replace("&", ""): _rect(b) for b in pushes}
            dialogs[dialog.objectName() or type(dialog).__name__] = {
                "rect": _rect(dialog),
                "buttons": buttons,
            }
    export = getattr(w, "export_dialog", None)
    track = edit.mask_track if edit is not None else None
    return {
        "window": _rect(w),
        "viewer": _rect(w.viewer),
        "frame": _rect(w.viewer, frame),
        "timeline": _rect(w.timeline),
        "lanes": lanes,
        "dialogs": dialogs,
        "open": s.store is not None,
        "folder": str(s.store.folder) if s.store is not None else "",
        "runtime": w.runtime.state,
        "frame_number": s.frame,
        "frame_count": s.frame_count,
        "keyframes": [k.frame for k in edit.keyframes] if edit is not None else [],
        "mask_pixels": _mask_pixels(w),
        "tracked": None if track is None else [track.start, track.stop],
        "rendered": len(w.timeline.rendered_frames),
        "propagating": w.propagate.running,
        "render_status": edit.renders[-1].status if edit is not None and edit.renders else "",
        "export_result": str(export.result_path) if export is not None and export.result_path else "",
        "export_error": (export.error or "") if export is not None else "",
        "status": w.statusBar().currentMessage(),
    }


def start(w: MainWindow) -> QTimer | None:
    """Write the snapshot to ``VIVID_DESKTOP_UI_MAP`` every 200 ms (atomically); None when unset."""
    target = os.environ.get("VIVID_DESKTOP_UI_MAP")
    if not target:
        return None
    path = Path(target)
    timer = QTimer(w)

    def write() -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot(w)), encoding="utf-8")
        os.replace(tmp, path)

    timer.timeout.connect(write)
    timer.start(200)
    return timer
