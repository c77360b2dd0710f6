"""Helpers of the trainer tab and model manager tests: a tiny model written once, synthetic datasets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from vivid_desktop.core.files import write_png
from vivid_desktop.media.synth import pan_scene, write_clip

SIZE = 32
CAPTION = "a red ball"


def tiny_model(tmp_path_factory) -> Path:
    """A tiny VIVID model written by ``vivid model tiny`` once per test session (shared by modules)."""
    folder = tmp_path_factory.getbasetemp() / "vivid-tiny-model"
    if not (folder / "vivid.json").is_file():
        cmd = [sys.executable, "-m", "vivid_desktop.cli.main", "model", "tiny", str(folder)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
    return folder


def image_sample(folder: Path, name: str, seed: int, caption: str | None = CAPTION) -> None:
    scene = pan_scene(n_frames=1, width=SIZE, height=SIZE, seed=seed)
    write_png(folder / f"{name}.png", scene.frames[0])
    write_png(folder / f"{name}.mask.png", scene.masks[0])
    if caption is not None:
        (folder / f"{name}.txt").write_text(caption)


def clip_sample(folder: Path, name: str, seed: int, frames: int = 9) -> None:
    scene = pan_scene(n_frames=frames, width=SIZE, height=SIZE, seed=seed)
    write_clip(folder / f"{name}.mp4", scene.frames)
    masks = folder / f"{name}.mask"
    masks.mkdir()
    for i, mask in enumerate(scene.masks):
        write_png(masks / f"{i:06d}.png", mask)
    (folder / f"{name}.txt").write_text(CAPTION)


def good_dataset(folder: Path) -> Path:
    """Three images, a 9-frame clip and a validation image: trains the tiny model in seconds."""
    folder.mkdir(parents=True)
    for i in range(3):
        image_sample(folder, f"img{i}", i)
    clip_sample(folder, "clip0", 100)
    (folder / "validation").mkdir()
    image_sample(folder / "validation", "val0", 7)
    return folder


def broken_dataset(folder: Path) -> Path:
    """Good samples next to broken ones, one problem each (named in the test)."""
    folder.mkdir(parents=True)
    image_sample(folder, "good", 0)
    clip_sample(folder, "clip", 1, frames=9)
    image_sample(folder, "nomask", 2)
    (folder / "nomask.mask.png").unlink()
    image_sample(folder, "wrongsize", 3)
    write_png(folder / "wrongsize.mask.png", np.zeros((10, 12), np.uint8))
    image_sample(folder, "nocaption", 4, caption=None)
    write_png(folder / "orphan.mask.png", np.zeros((SIZE, SIZE), np.uint8))
    (folder / "unreadable.png").write_bytes(b"not a png")
    write_png(folder / "unreadable.mask.png", np.zeros((SIZE, SIZE), np.uint8))
    (folder / "unreadable.txt").write_text(CAPTION)
    return folder
