"""Helpers for the editor's tests (imported by the test modules and conftest)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QObject, QTimer


def wait_open(qtbot, window, path: Path, timeout: int = 20000) -> None:
    """Open ``path`` and wait until the first frame is on screen."""
    window.open_path(path)
    qtbot.waitUntil(
        lambda: window.session.store is not None and window.viewer._source is not None, timeout=timeout
    )


class GapRecorder(QObject):
    """Measures how long the UI thread goes without running a 10 ms timer (the longest stall)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = QElapsedTimer()
        self.timer = QTimer(self)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = 0
        self.gaps: list[int] = []

    def start(self) -> GapRecorder:
        self.clock.start()
        self.last = 0
        self.timer.start()
        return self

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.gaps.append(now - self.last)
        self.last = now

    def stop(self) -> None:
        self.timer.stop()

    @property
    def worst(self) -> int:
        return max(self.gaps, default=0)


def settle(qtbot, ms: int = 50) -> None:
    """Let queued events run."""
    deadline = time.monotonic() + ms / 1000
    while time.monotonic() < deadline:
        qtbot.wait(10)
