"""PySide6 6.11–6.12 lose references to None/True/False on CPython 3.11, which aborts the editor after a
few thousand calls ("none_dealloc"). The pin in pyproject.toml avoids them; this test fails on a version
that has the bug, so nobody lifts the pin by accident."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, Signal


class _Probe(QObject):
    fired = Signal()


def _stolen(call, obj: object, times: int = 200) -> int:
    before = sys.getrefcount(obj)
    results = [call() for _ in range(times)]  # held, so only a missing reference shows as a drop
    stolen = before + times - sys.getrefcount(obj)
    del results
    return stolen


def test_pyside_keeps_references_to_none_true_and_false(qapp):
    probe = _Probe()
    assert _stolen(lambda: probe.setObjectName("probe"), None) == 0
    assert _stolen(QCoreApplication.sendPostedEvents, None) == 0
    assert _stolen(probe.fired.emit, True) == 0
