"""A work-around for a reference-count bug of PySide6 6.12 on CPython 3.11.

PySide6 6.12.0 returns ``None`` from every ``void`` C++ method (``widget.update()``,
``app.processEvents()`` …) and ``True``/``False`` from ``SignalInstance.emit()``/``disconnect()``
without taking a new reference (6.11.3 still does it in ``QCoreApplication.sendPostedEvents()``).
From Python 3.12 on these objects are *immortal* (PEP 683) and nothing happens; on 3.11 each call
steals one reference, and after some thousands of calls the interpreter aborts with "none_dealloc:
deallocating None" (or "bool_dealloc"), in the middle of editing or at exit.

The bug is measured at import, not assumed from a version number. When it is there we do for these
three singletons what Python 3.12 does for them: give them a reference count so large (2**60) that no
program can bring it to zero. Nothing else changes; on a fixed PySide6 or on Python ≥ 3.12 this module
does nothing. (The real fix is a PySide6 release without the bug, or Python ≥ 3.12.)
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QCoreApplication, QObject, Signal

log = logging.getLogger(__name__)

_IMMORTAL = 1 << 60


class _Probe(QObject):
    fired = Signal()


def _steals(call, obj: object, times: int = 64) -> bool:
    before = sys.getrefcount(obj)
    results = [call() for _ in range(times)]  # kept: only a missing reference shows as a drop
    stolen = before + times - sys.getrefcount(obj) if all(r is obj for r in results) else 0
    del results
    return stolen >= times // 2


def _buggy() -> bool:
    """Whether PySide6 loses references: a void method, a static void function, a signal emission."""
    probe = _Probe()
    return (
        _steals(lambda: probe.setObjectName("probe"), None)
        or _steals(QCoreApplication.sendPostedEvents, None)  # still stolen in 6.11.3
        or _steals(probe.fired.emit, True)
    )


def _immortalize(obj: object) -> None:
    # ob_refcnt is the first field of every object in release builds of CPython 3.11
    ctypes.c_ssize_t.from_address(id(obj)).value = _IMMORTAL


def install() -> bool:
    """Make None/True/False immortal when PySide6 steals their references; True when it did."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if hasattr(sys, "gettotalrefcount"):  # a debug build lays objects out differently: leave it alone
        return False
    if sys.getrefcount(None) >= _IMMORTAL:
        return True
    if not _buggy():
        return False
    for obj in (None, True, False):
        _immortalize(obj)
    log.info("PySide6 %s steals references to None/True/False on Python 3.11: worked around", _version())
    return True


def _version() -> str:
    import PySide6

    return PySide6.__version__
