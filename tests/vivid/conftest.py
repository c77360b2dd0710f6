"""Shared fixtures for the vivid engine tests: a tiny seeded model on disk, a tiny clip, a recording ctx."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
import tqdm

from model_runtime.engines.base import JobCancelled
from vivid_desktop.media import synth

torch.set_num_threads(2)
# diffusers' progress bars would start tqdm's process-wide monitor thread (flagged as a leak).
tqdm.tqdm.monitor_interval = 0


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny VIVID checkpoint in our folder format (seeded; written once per session)."""
    from model_runtime.vivid.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny", seed=0)


@pytest.fixture(scope="session")
def scene():
    return synth.pan_scene(n_frames=21, width=48, height=32, seed=3)


@pytest.fixture(scope="session")
def clip(tmp_path_factory, scene) -> Path:
    """A 21-frame 48×32 clip (lossless, so the test can compare against exact source pixels)."""
    path = tmp_path_factory.mktemp("clips") / "pan.mkv"
    return synth.write_clip(path, scene.frames, codec="ffv1", pix_fmt="bgr0")


@pytest.fixture(scope="session")
def box_mask(tmp_path_factory) -> Path:
    import cv2

    m = np.zeros((32, 48), np.uint8)
    m[8:24, 16:36] = 255
    path = tmp_path_factory.mktemp("masks") / "mask.png"
    cv2.imwrite(str(path), m)
    return path


@dataclass
class RecordingContext:
    """A JobContext that records everything and cancels on request (after N progress calls)."""

    cancel_after: int | None = None
    progress_calls: list[tuple[float, float, str, object]] = field(default_factory=list)
    frames: list[tuple[int, Path]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)

    def progress(self, done, total, message="", preview=None, unit="") -> None:
        self.progress_calls.append((done, total, message, preview))
        self.units.append(unit)

    def frame_ready(self, frame, path, preview=None) -> None:
        assert Path(path).is_file()
        self.frames.append((frame, Path(path)))

    def check_cancelled(self) -> None:
        steps = sum(1 for p in self.progress_calls if "step" in p[2])
        if self.cancel_after is not None and steps >= self.cancel_after:
            raise JobCancelled()

    def log(self, message: str) -> None:
        self.logs.append(message)


@pytest.fixture
def make_ctx():
    """The recording context class: ``make_ctx(cancel_after=n)``."""
    return RecordingContext
