"""Helpers of the trainer tests: synthetic datasets, small settings, a recording JobContext."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model_runtime.engines.base import JobCancelled
from model_runtime.protocol.jobs import TrainRequest
from vivid_desktop.core.files import write_png
from vivid_desktop.media.synth import pan_scene, write_clip

SIZE = 32
CAPTION = "a red ball"


def write_image_sample(folder: Path, name: str, seed: int, caption: str = CAPTION) -> None:
    scene = pan_scene(n_frames=1, width=SIZE, height=SIZE, seed=seed)
    write_png(folder / f"{name}.png", scene.frames[0])
    write_png(folder / f"{name}.mask.png", scene.masks[0])
    (folder / f"{name}.txt").write_text(caption)


def write_clip_sample(folder: Path, name: str, seed: int, frames: int = 9, caption: str = CAPTION) -> None:
    scene = pan_scene(n_frames=frames, width=SIZE, height=SIZE, seed=seed)
    write_clip(folder / f"{name}.mp4", scene.frames)
    masks = folder / f"{name}.mask"
    masks.mkdir()
    for i, mask in enumerate(scene.masks):
        write_png(masks / f"{i:06d}.png", mask)
    (folder / f"{name}.txt").write_text(caption)


def make_dataset(folder: Path, images: int = 3, clips: int = 1, seed: int = 0) -> Path:
    """A folder dataset (layout b): textured backgrounds with a red ball under the mask."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(images):
        write_image_sample(folder, f"img{i}", seed + i)
    for i in range(clips):
        write_clip_sample(folder, f"clip{i}", seed + 100 + i)
    return folder


def small_request(data: Path, model: Path, out: Path, **overrides) -> TrainRequest:
    """Settings that train the tiny model in seconds on a CPU."""
    fields = dict(
        data=str(data),
        model=str(model),
        output=str(out),
        steps=8,
        rank=4,
        learning_rate=2e-3,
        warmup_steps=2,
        height=SIZE,
        width=SIZE,
        num_frames=5,
        image_frames_per_clip=2,
        checkpoint_every=4,
        validate_every=0,
        validation_steps=2,
        gradient_checkpointing=False,
    )
    fields.update(overrides)
    return TrainRequest(**fields)


@dataclass
class RecordingContext:
    """A JobContext that records every call; ``cancel_at`` stops the run at that progress step."""

    cancel_at: int | None = None
    progress_calls: list[tuple[float, float, str]] = field(default_factory=list)
    metrics_calls: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    frames: list[tuple[int, Path, np.ndarray | None]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def progress(self, done, total, message="", preview=None) -> None:
        self.progress_calls.append((done, total, message))

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self.metrics_calls.append((step, values))

    def frame_ready(self, frame, path, preview=None) -> None:
        self.frames.append((frame, Path(path), preview))

    def check_cancelled(self) -> None:
        if self.cancel_at is not None and self.metrics_calls and self.metrics_calls[-1][0] >= self.cancel_at:
            raise JobCancelled("test")

    def log(self, message: str) -> None:
        self.logs.append(message)


def run_module(args: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, **kw)
