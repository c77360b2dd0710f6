"""Look and feel: the dark palette, the style sheet and the SVG icons in ``resources/``."""

from __future__ import annotations

import functools

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

# Inside the installed package or at the checkout's root: vivid_desktop.system.resources knows which.
from vivid_desktop.system.resources import resource_path


@functools.cache
def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/NAME.svg`` (an empty icon when it is missing)."""
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


def dark_palette() -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#232428",
        QPalette.ColorRole.WindowText: "#dcdde1",
        QPalette.ColorRole.Base: "#1c1d21",
        QPalette.ColorRole.AlternateBase: "#222327",
        QPalette.ColorRole.Text: "#dcdde1",
        QPalette.ColorRole.Button: "#34363c",
        QPalette.ColorRole.ButtonText: "#dcdde1",
        QPalette.ColorRole.Highlight: "#3d62b8",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2f3136",
        QPalette.ColorRole.ToolTipText: "#e6e6ea",
        QPalette.ColorRole.Mid: "#6b6d74",
        QPalette.ColorRole.PlaceholderText: "#7d8088",
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6d74"))
    return pal


def apply_style(app: QApplication) -> None:
    """Fusion + the dark palette + ``resources/style/dark.qss``."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    qss = resource_path("style", "dark.qss")
    if qss.is_file():
        # url() in a style sheet is relative to the working folder: point it at our icons instead
        icons = resource_path("icons").as_posix()
        app.setStyleSheet(qss.read_text(encoding="utf-8").replace("{icons}", icons))
