"""Write screenshots of the editor's main views: ``python docs/tools/screenshots.py [OUT_DIR]``.

Runs the real editor offscreen on the built-in demo with a real runtime (flow engine): the mask
painted on a keyframe, propagation, the compare modes, the keyframe preview, the export and settings
dialogs. Settings and the demo cache go to a temporary folder, never the user's. Default output:
``docs/screenshots``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _wait(app, until: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the editor did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def _settle(app, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def take(out_dir: Path) -> list[Path]:
    """Drive the editor through its views and save one PNG per view into ``out_dir``."""
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from vivid_desktop.qt.main_window import MainWindow
    from vivid_desktop.qt.settings import AppSettings
    from vivid_desktop.qt.settings_dialog import QtSettingsDialog
    from vivid_desktop.qt.style import apply_style

    out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    apply_style(app)
    settings = AppSettings()
    settings.set("proxy/enabled", True)
    settings.set("render/confirm_plan", False)  # the plan dialog has its own shot in the display test
    w = MainWindow(settings)
    w.resize(1440, 900)
    w.show()
    w.start_runtime()
    w.open_demo()
    s = w.session
    _wait(app, lambda: s.store is not None and w.viewer._source is not None and w.runtime.is_ready)
    _wait(app, lambda: w.runtime.facts is not None, 60)
    saved: list[Path] = []

    def shot(name: str, widget=None, settle: float = 0.4) -> None:
        _settle(app, settle)
        path = out_dir / f"{name}.png"
        (widget or w).grab().save(str(path))
        saved.append(path)

    # 1. the demo as it opens: a keyframe with its painted mask, the brush ready
    s.seek(24)
    _wait(app, lambda: s.painter.frame == 24)
    w.set_tool("brush")
    w.tools["brush"].hover_pos = w.viewer.view_to_image(QPointF(w.viewer.rect().center()))
    shot("01-mask-painting")
    w.set_tool("none")

    # 2. propagation: tracked mask, frames streaming onto the timeline
    done: list[str] = []
    w.propagate.finished.connect(done.append)
    w.run_propagate()
    _wait(app, lambda: len(w.timeline.rendered_frames) >= 16 or bool(done))
    shot("02-propagating", settle=0.05)
    _wait(app, lambda: bool(done))
    for mode, frame, name in (
        ("wipe", 36, "03-compare-wipe"),
        ("side", 40, "04-compare-side-by-side"),
        ("difference", 40, "05-compare-difference"),
    ):
        w.set_compare(mode)
        s.seek(frame)
        _wait(app, lambda f=frame: s.frames._shown_exact == (f, True) and "RENDER" in w.viewer.badge)
        shot(name)
    w.set_compare("off")

    # 3. keyframe preview before/after (flow engine: a fill of the masked region)
    s.seek(48)
    _wait(app, lambda: s.painter.frame == 48)
    previewed: list[int] = []
    w.keyframes.imported.connect(previewed.append)
    w.keyframes.preview(48)
    _wait(app, lambda: bool(previewed))
    _wait(app, lambda: w.viewer.compare == "side" and w.viewer.badge.startswith("EDITED"))
    shot("06-keyframe-preview")
    w.set_compare("off")

    # 4. the dialogs
    w.show_export()
    dialog = w.export_dialog
    dialog.path.setText(str(Path(tempfile.mkdtemp()) / "demo-edited.mp4"))
    dialog.range.setCurrentIndex(dialog.range.findData("all"))
    dialog.start_export()

    def answered_or_done() -> bool:  # "not everything is rendered": the demo renders part of the clip
        if dialog.question is not None:
            dialog.question.buttons()[0].click()  # the accepting button ("Export anyway")
        return not dialog.running

    _wait(app, answered_or_done)
    shot("07-export-dialog", dialog)
    dialog.close()
    settings_dialog = QtSettingsDialog(settings, w)
    settings_dialog.show()
    shot("08-settings-dialog", settings_dialog)
    settings_dialog.close()
    w.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else Path("docs/screenshots")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="vivid-screens-") as tmp:
        os.environ["VIVID_DESKTOP_CONFIG"] = str(Path(tmp) / "config")
        os.environ["VIVID_DESKTOP_DATA"] = str(Path(tmp) / "data")
        for path in take(out_dir):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
