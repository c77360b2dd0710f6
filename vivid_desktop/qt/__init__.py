"""The editor (the only package that imports PySide6)."""

from vivid_desktop.qt import _pyside_fix

_pyside_fix.install()
