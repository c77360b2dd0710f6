"""Test-wide set-up: offscreen Qt, and guards that fail a test which leaks a thread or a window.

The guards follow napari's conftest: a test must clean up every thread it starts and close every
top-level window it opens, or it fails (leaks make later tests flaky and hide shutdown bugs).
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the network or a model hub from a test.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("VIVID_TESTING", "1")

#: Threads that libraries start once per process and keep (not leaks of a test).
_PROCESS_THREAD_PREFIXES = ("QDBusConnection", "pydevd", "ThreadPoolExecutor-", "asyncio_")


def _foreign_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def _fail_on_leaked_threads(request):
    before = _foreign_threads()
    yield
    if request.node.get_closest_marker("allow_thread_leak"):
        return
    deadline = time.monotonic() + 3.0
    while True:
        leaked = [
            t
            for t in _foreign_threads() - before
            if not t.name.startswith(_PROCESS_THREAD_PREFIXES) and t is not threading.current_thread()
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if leaked:
        pytest.fail(f"test leaked threads: {[t.name for t in leaked]}")


@pytest.fixture(autouse=True)
def _fail_on_leaked_windows(request):
    qt = sys.modules.get("PySide6.QtWidgets")
    app = qt.QApplication.instance() if qt else None
    before = {id(w) for w in app.topLevelWidgets() if w.isVisible()} if app else set()
    yield
    qt = sys.modules.get("PySide6.QtWidgets")
    app = qt.QApplication.instance() if qt else None
    if app is None:
        return
    app.processEvents()
    leaked = [w for w in app.topLevelWidgets() if w.isVisible() and id(w) not in before]
    if leaked:
        names = [type(w).__name__ for w in leaked]
        for w in leaked:
            w.close()
        pytest.fail(f"test leaked top-level windows: {names}")


def pytest_configure(config):
    config.addinivalue_line("markers", "allow_thread_leak: the test owns a process-wide thread")


def pytest_generate_tests(metafunc):
    """A test that takes ``timed`` runs twice: its behaviour in the default run (``timed`` False), and
    the same steps with its wall-clock limits under the opt-in ``perf`` marker (``pytest -m perf``).
    Limits on time depend on the machine and its load; behaviour must not."""
    if "timed" in metafunc.fixturenames:
        metafunc.parametrize(
            "timed",
            [pytest.param(False, id="behaviour"), pytest.param(True, id="perf", marks=pytest.mark.perf)],
        )
