"""One place where an exception that escapes a slot reaches the user.

PySide6 hands an exception raised in a slot (a button's ``clicked``, a timer, a queued call) to
``sys.excepthook`` and carries on; by default that prints to stderr only, so the click "does nothing".
``SlotErrors.install()`` replaces the hook: the error goes to the log with its traceback and
``raised`` fires (queued onto the UI thread when it happened elsewhere), which the main window turns
into a status-bar message and a dialog. Qt's own warnings go to the log as well.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, QtMsgType, Signal, qInstallMessageHandler

log = logging.getLogger("vivid_desktop.errors")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def one_line(exc: BaseException) -> str:
    """``TypeError: the message`` (first line), what an editor can read in a status bar."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SlotErrors(QObject):
    """Owns ``sys.excepthook`` while installed; ``raised(title, message)`` fires on the UI thread."""

    raised = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._previous: Callable[..., object] | None = None
        self._installed = False
        self.count = 0

    def install(self) -> None:
        """Take over ``sys.excepthook`` (the previous hook still runs when it is not Python's default,
        so a test harness that records errors keeps seeing them)."""
        if self._installed:
            return
        self._previous = sys.excepthook
        sys.excepthook = self._hook
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        if sys.excepthook == self._hook:
            sys.excepthook = self._previous or sys.__excepthook__
        self._installed = False

    def _hook(self, etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        self.count += 1
        log.error("unexpected error\n%s", "".join(traceback.format_exception(etype, value, tb)).rstrip())
        self.raised.emit("Something went wrong", one_line(value))
        previous = self._previous
        if previous is not None and previous is not sys.__excepthook__:
            previous(etype, value, tb)


def log_qt_messages() -> None:
    """Send Qt's warnings to the log instead of stderr only (the application does this once)."""
    qInstallMessageHandler(_log_qt_message)


def _log_qt_message(mode: QtMsgType, context, message: str) -> None:
    where = f" ({context.file}:{context.line})" if context is not None and context.file else ""
    logging.getLogger("qt").log(_QT_LEVELS.get(mode, logging.WARNING), "%s%s", message, where)
