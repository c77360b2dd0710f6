"""Helpers of the trainer tests: small settings, a recording JobContext (datasets: datasets.synthetic)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model_runtime.engines.base import JobCancelled
from vivid_desktop.datasets.synthetic import SIZE
from vivid_desktop.protocol.jobs import TrainRequest


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
