"""Helpers for the editor's tests (imported by the test modules and conftest)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer


def wait_open(qtbot, window, path: Path, timeout: int = 20000) -> None:
    """Open ``path`` and wait until the first frame is on screen."""
    window.open_path(path)
    qtbot.waitUntil(
        lambda: window.session.store is not None and window.viewer._source is not None, timeout=timeout
    )


class GapRecorder(QObject):
    """Measures how long the UI thread goes without running a 10 ms timer.

    ``worst`` is the longest wall-clock gap; ``worst_busy`` the most CPU time the UI thread itself spent
    inside one gap. On this shared 2-core machine the OS sometimes does not schedule the process for a
    while (other processes, the runtime rendering): that shows in ``worst`` but is not the editor
    blocking its UI thread. Work done on the UI thread burns its CPU time, so ``worst_busy`` is the
    strict measure; ``assert_smooth`` also bounds the wall-clock gaps (p99, and the worst loosely, which
    catches waits on locks or the GIL that last long).
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = QElapsedTimer()
        self.timer = QTimer(self)
        self.timer.setInterval(10)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.last = 0
        self.last_cpu = 0.0
        self.gaps: list[int] = []
        self.busy: list[float] = []

    def start(self) -> GapRecorder:
        self.clock.start()
        self.last = 0
        self.last_cpu = time.thread_time()
        self.timer.start()
        return self

    def _tick(self) -> None:
        now, cpu = self.clock.elapsed(), time.thread_time()
        self.gaps.append(now - self.last)
        self.busy.append((cpu - self.last_cpu) * 1000)
        self.last, self.last_cpu = now, cpu

    def stop(self) -> None:
        self.timer.stop()

    @property
    def worst(self) -> int:
        return max(self.gaps, default=0)

    @property
    def worst_busy(self) -> float:
        return max(self.busy, default=0.0)

    def assert_smooth(self, what: str, limit_ms: float = 50.0) -> None:
        """No work on the UI thread over ``limit_ms``; late ticks rare (≤ 1 %, or 2 in short runs)."""
        late = sum(g > limit_ms for g in self.gaps)
        assert self.worst_busy < limit_ms, f"UI thread busy {self.worst_busy:.0f} ms at once while {what}"
        assert late <= max(2, len(self.gaps) // 100), (
            f"UI thread late too often while {what}: {self.summary()}"
        )
        assert self.worst < 5 * limit_ms, f"UI thread stalled {self.worst} ms while {what}"

    def summary(self) -> str:
        late = sum(g > 50 for g in self.gaps)
        busy = f"{self.worst_busy:.0f}"
        return f"worst gap {self.worst} ms (busy {busy} ms), {late}/{len(self.gaps)} ticks > 50 ms"


def settle(qtbot, ms: int = 50) -> None:
    """Let queued events run."""
    deadline = time.monotonic() + ms / 1000
    while time.monotonic() < deadline:
        qtbot.wait(10)
