"""Helpers of the trainer tab and model manager tests: a tiny model written once, synthetic datasets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from vivid_desktop.core.files import write_png
from vivid_desktop.datasets.synthetic import (
    CAPTION,
    SIZE,
    make_dataset,
    write_clip_sample,
    write_image_sample,
)


def tiny_model(tmp_path_factory) -> Path:
    """A tiny VIVID model written by ``vivid model tiny`` once per test session (shared by modules)."""
    folder = tmp_path_factory.getbasetemp() / "vivid-tiny-model"
    if not (folder / "vivid.json").is_file():
        cmd = [sys.executable, "-m", "vivid_desktop.cli.main", "model", "tiny", str(folder)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
    return folder


def good_dataset(folder: Path) -> Path:
    """Three images, a 9-frame clip and a validation image: trains the tiny model in seconds."""
    return make_dataset(folder, images=3, clips=1, validation=1)


def broken_dataset(folder: Path) -> Path:
    """Good samples next to broken ones, one problem each (named in the test)."""
    folder.mkdir(parents=True)
    write_image_sample(folder, "good", 0)
    write_clip_sample(folder, "clip", 1, frames=9)
    write_image_sample(folder, "nomask", 2)
    (folder / "nomask.mask.png").unlink()
    write_image_sample(folder, "wrongsize", 3)
    write_png(folder / "wrongsize.mask.png", np.zeros((10, 12), np.uint8))
    write_image_sample(folder, "nocaption", 4, caption=None)
    write_png(folder / "orphan.mask.png", np.zeros((SIZE, SIZE), np.uint8))
    (folder / "unreadable.png").write_bytes(b"not a png")
    write_png(folder / "unreadable.mask.png", np.zeros((SIZE, SIZE), np.uint8))
    (folder / "unreadable.txt").write_text(CAPTION)
    return folder
