"""Shared helpers for the engine tests: a recording job context and lossless synthetic clips."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from model_runtime.engines.base import JobCancelled
from vivid_desktop.media.synth import PanScene, write_clip


@dataclass
class FakeContext:
    """A :class:`JobContext` that records every event (InvokeAI's recording sink, in spirit).

    ``cancel_after``: the job is cancelled once that many frames were announced.
    """

    cancel_after: int | None = None
    events: list[tuple] = field(default_factory=list)

    def progress(self, done, total, message="", preview=None, unit=""):
        assert preview is None or (preview.dtype == np.uint8 and max(preview.shape[:2]) <= 160)
        self.events.append(("progress", done, total, message))

    def frame_ready(self, frame, path, preview=None):
        assert Path(path).is_file(), "frame_ready must come after the file is on disk"
        assert preview is not None and preview.dtype == np.uint8
        self.events.append(("frame_ready", frame, Path(path)))

    def check_cancelled(self):
        if self.cancel_after is not None and len(self.frames) >= self.cancel_after:
            raise JobCancelled()

    def log(self, message):
        self.events.append(("log", message))

    @property
    def frames(self) -> list[int]:
        return [e[1] for e in self.events if e[0] == "frame_ready"]


def write_lossless(path: Path, frames: list[np.ndarray]) -> Path:
    """A clip whose decoded frames equal ``frames`` exactly (H.264 RGB, qp 0)."""
    return write_clip(path, frames, codec="libx264rgb", pix_fmt="rgb24", options={"qp": "0"})


def write_masks(folder: Path, masks: list[np.ndarray] | dict[int, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    items = masks.items() if isinstance(masks, dict) else enumerate(masks)
    for n, mask in items:
        cv2.imwrite(str(folder / f"{n:06d}.png"), mask)
    return folder


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    err = a[where].astype(np.float64) - b[where].astype(np.float64)
    return float(10 * np.log10(255.0**2 / max(np.mean(err**2), 1e-12)))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0) & (b > 0)).sum() / max(1, ((a > 0) | (b > 0)).sum()))


def far_from(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Pixels more than ``pixels`` away from any mask pixel (square neighbourhood, so conservative)."""
    return cv2.dilate((mask > 0).astype(np.uint8), np.ones((2 * pixels + 1,) * 2, np.uint8)) == 0


@dataclass
class SceneClip:
    """A synthetic scene written as a lossless clip, with its per-frame masks on disk."""

    scene: PanScene
    clip: Path
    masks: Path
