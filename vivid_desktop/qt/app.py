"""``vivid-desktop [CLIP|PROJECT]``: start the editor.

The window is shown first and is interactive at once; the runtime process starts in the background
right after (torch is never imported here). With no argument the editor offers the built-in demo, or
to reopen a project left open by a crash.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

T0 = time.monotonic()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vivid-desktop", description="VIVID Desktop: local video editing.")
    parser.add_argument("path", nargs="?", help="a clip or a project folder (NAME.vivid) to open")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo")
    parser.add_argument("--no-runtime", action="store_true", help="do not start the runtime process")
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)  # smoke tests
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if problem := startup_problem():
        print(f"vivid-desktop: {problem}", file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from vivid_desktop.qt.errors import log_qt_messages

    _start_logging()
    log_qt_messages()
    from vivid_desktop.qt.main_window import MainWindow
    from vivid_desktop.qt.style import apply_style, icon

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("VIVID Desktop")
    app.setOrganizationName("vivid-desktop")
    apply_style(app)
    app.setWindowIcon(icon("app"))
    window = MainWindow()
    window.show()
    from vivid_desktop.qt import ui_map

    ui_map.start(window)  # only when VIVID_DESKTOP_UI_MAP is set (tests driving the real app)
    logging.getLogger("vivid_desktop").info("window shown %.2f s after start", time.monotonic() - T0)
    report = os.environ.get("VIVID_DESKTOP_STARTUP_REPORT")
    if report:  # for the start-up test: when the window was up, and that torch was not imported
        QTimer.singleShot(0, lambda: _write_report(report))
    if not args.no_runtime:
        QTimer.singleShot(0, window.start_runtime)
    if args.path:
        window.open_path(Path(args.path))
    elif args.demo:
        window.open_demo()
    else:
        QTimer.singleShot(150, lambda: welcome(window))
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    return app.exec()


def startup_problem() -> str | None:
    """Why the window cannot open, in one line, asked before Qt starts: Qt aborts the whole process when
    its platform plugin does not load, with a message that does not say what to install."""
    from vivid_desktop.system import extras, qtlibs

    if line := extras.missing_line("gui", "the editor"):
        return line
    if problem := qtlibs.gui_problem():
        return f"cannot open its window: {problem}"
    return None


def _start_logging() -> None:
    """The log: stderr and ``<data dir>/logs/vivid-desktop.log`` (rotated), where error dialogs point."""
    from logging.handlers import RotatingFileHandler

    from vivid_desktop.qt.settings import data_dir

    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=fmt)
    try:
        folder = data_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(folder / "vivid-desktop.log", maxBytes=2_000_000, backupCount=2)
    except OSError as exc:
        logging.getLogger("vivid_desktop").warning("no log file: %s", exc)
        return
    handler.setFormatter(logging.Formatter(fmt))
    logging.getLogger().addHandler(handler)


def _write_report(path: str) -> None:
    import json

    doc = {"shown_at": time.time(), "torch_imported": "torch" in sys.modules}
    Path(path).write_text(json.dumps(doc), encoding="utf-8")


def welcome(window) -> None:
    """No argument: reopen a project a crash left open, or offer the demo."""
    from PySide6.QtWidgets import QMessageBox

    crashed = window.marker.crashed_project()
    box = QMessageBox(window)
    box.setObjectName("welcomeBox")
    box.setIcon(QMessageBox.Icon.Question)
    if crashed is not None:
        box.setWindowTitle("Recover project")
        box.setText(
            f"VIVID Desktop did not close properly last time.\n\nReopen {crashed.name}? "
            "Everything up to a few seconds before the crash was saved."
        )
        reopen = box.addButton("Reopen", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.buttonClicked.connect(
            lambda b: window.open_path(crashed) if b is reopen else window.marker.mark_closed()
        )
    else:
        box.setWindowTitle("Welcome to VIVID Desktop")
        box.setText(
            "Open a clip to edit, or try the demo: a generated clip with an object to remove "
            "and its mask already painted — press Propagate and watch it disappear."
        )
        demo = box.addButton("Open the demo", QMessageBox.ButtonRole.AcceptRole)
        clip = box.addButton("Open a clip…", QMessageBox.ButtonRole.ActionRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)

        def chosen(button) -> None:
            if button is demo:
                window.open_demo()
            elif button is clip:
                window.choose_file()

        box.buttonClicked.connect(chosen)
    box.open()


if __name__ == "__main__":
    sys.exit(main())
