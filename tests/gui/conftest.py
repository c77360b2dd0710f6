"""Fixtures for the editor's tests: isolated user folders, generated clips, real windows and runtimes."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from guitools import wait_open
from trainer_helpers import tiny_model

from vivid_desktop.media.synth import pan_scene, write_clip

CLIP_FRAMES = 36
CLIP_SIZE = (192, 112)
CLIP_RATE = Fraction(24)


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    """Settings, the demo cache and the recovery marker live in the test's folder, never the user's."""
    monkeypatch.setenv("VIVID_DESKTOP_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("VIVID_DESKTOP_DATA", str(tmp_path / "data"))
    # The editor's tests are not about the heartbeat (tests/runtime are): on a loaded shared machine the
    # runtime can go unscheduled for more than the default 1.5 s, which is not a crash.
    monkeypatch.setenv("VIVID_RUNTIME_HEARTBEAT_TIMEOUT", "10")


def _patterned_scene():
    w, h = CLIP_SIZE
    scene = pan_scene(n_frames=CLIP_FRAMES, width=w, height=h, velocity=(2.0, 0.5), object_size=0.3, seed=3)
    xs = np.mgrid[0:h, 0:w][1]
    for frame, mask in zip(scene.frames, scene.masks, strict=True):
        inside = mask > 0
        cx = np.flatnonzero(inside.any(axis=0)).mean()
        frame[((xs - cx) // 6 % 2 == 0) & inside] = (240, 210, 60)  # texture that moves with the object
    return scene


@pytest.fixture(scope="session")
def scene():
    return _patterned_scene()


@pytest.fixture(scope="session")
def master_clip(tmp_path_factory, scene) -> Path:
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    return write_clip(path, scene.frames, rate=CLIP_RATE, audio_seconds=float(CLIP_FRAMES / CLIP_RATE))


@pytest.fixture
def clip(tmp_path, master_clip) -> Path:
    """A fresh copy per test (a clip's project is made beside it)."""
    folder = tmp_path / "media"
    folder.mkdir()
    return Path(shutil.copy(master_clip, folder / "clip.mp4"))


@pytest.fixture
def settings(tmp_path):
    from vivid_desktop.qt.settings import AppSettings

    s = AppSettings(tmp_path / "config" / "test-settings.ini")
    s.set("proxy/enabled", False)  # tests of scrubbing turn it on themselves
    s.set("render/confirm_plan", False)  # tests of the plan confirmation turn it on themselves
    return s


@pytest.fixture
def window(qtbot, settings):
    from vivid_desktop.qt.main_window import MainWindow

    w = MainWindow(settings=settings)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    w.close()


@pytest.fixture
def opened(qtbot, window, clip):
    wait_open(qtbot, window, clip)
    return window


@pytest.fixture
def live(qtbot, opened):
    """An open clip and a ready runtime subprocess."""
    opened.start_runtime()
    qtbot.waitUntil(lambda: opened.runtime.is_ready, timeout=60000)
    return opened


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> Path:
    """A tiny VIVID model on disk, written once per session."""
    return tiny_model(tmp_path_factory)


@pytest.fixture
def relay():
    from vivid_desktop.qt.workers import MainThreadRelay

    r = MainThreadRelay()
    yield r
    r.closed = True
