"""Autosave: within 3 s of a change, debounced, on a thread that stop() joins."""

from __future__ import annotations

import json
import threading
import time

import numpy as np

from vivid_desktop.core.files import read_png
from vivid_desktop.core.store import Autosaver, ProjectStore


def _saved_name(store: ProjectStore) -> str:
    return json.loads(store.project_file.read_text())["name"]


def _wait(cond, timeout: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def test_autosave_fires_within_three_seconds_and_its_thread_stops(store: ProjectStore, timed):
    saver = store.autosaver()
    try:
        assert saver.running
        store.project.set_name("changed")
        elapsed = _wait(lambda: _saved_name(store) == "changed", 15.0)
        assert elapsed is not None, "never autosaved"
        assert elapsed < 3.0 or not timed, elapsed
    finally:
        saver.stop()
    assert not saver.running
    assert not any(t.name == "vivid-autosave" for t in threading.enumerate())


def test_a_busy_project_is_saved_within_the_limit_and_debounced(store: ProjectStore, timed):
    saver = Autosaver(store, delay_s=0.5, max_delay_s=1.5).start()
    try:
        t0 = time.monotonic()
        first_saved = None
        i = 0
        while time.monotonic() - t0 < 2.2:  # a slider dragged without pause
            i += 1
            store.project.set_name(f"drag {i}")
            if first_saved is None and _saved_name(store).startswith("drag"):
                first_saved = time.monotonic() - t0
            time.sleep(0.01)
        assert first_saved is not None  # saved while the changes kept coming (max_delay_s) …
        assert first_saved < 1.5 + 0.5 or not timed, first_saved
        assert 1 <= saver.saves <= 2  # dozens of changes, one or two saves
    finally:
        saver.stop()
    assert _saved_name(store) == f"drag {i}"  # stop() saves what was pending


def test_mask_paint_is_autosaved_and_errors_are_reported(store: ProjectStore, monkeypatch):
    edit = store.project.add_edit()
    errors: list[Exception] = []
    real_save = store.save
    calls = {"n": 0}

    def flaky_save(backup=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk unplugged")
        real_save(backup)

    monkeypatch.setattr(store, "save", flaky_save)
    with Autosaver(store, delay_s=0.1, max_delay_s=0.3, on_error=errors.append):
        store.add_keyframe(edit.id, 5)
        assert _wait(lambda: errors, 15.0) is not None
        mask = np.zeros((48, 64), np.uint8)
        mask[:, :10] = 255
        store.set_mask(edit.id, 5, mask)  # the next change retries
        assert _wait(lambda: store.mask_path(edit.id, 5).exists(), 15.0) is not None
    assert np.array_equal(read_png(store.mask_path(edit.id, 5)), mask)
    assert "disk unplugged" in str(errors[0])


def test_autosave_can_be_switched_off_per_project(store: ProjectStore):
    store.project.set_setting("autosave", False)
    with Autosaver(store, delay_s=0.05, max_delay_s=0.1) as saver:
        store.project.set_name("not saved")
        time.sleep(0.4)
    assert saver.saves == 0 and _saved_name(store) != "not saved"
