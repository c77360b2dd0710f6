"""What each step trains on: images or a video, which units, which mask variant, which noise.

Every draw is a pure function of ``(seed, step, rank)``, so a resumed run draws exactly what the
uninterrupted run would have drawn: resuming needs no sampler state at all.

* kind: image with probability ``ratio / (ratio + 1)`` (``image_video_ratio``, default 10 images : 1
  video), when both kinds exist; a batch is all one kind (one shape);
* unit: uniform among the units of that kind;
* variant: with probability ``deletion_share`` a deletion variant, else one of the six augmentations
  (delete units have only deletion variants).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from model_runtime.training.cache import CachedUnit, load_unit


@dataclass
class Batch:
    target: torch.Tensor  # (B, Lf, C, h, w)
    cond: torch.Tensor  # (B, Lf, 1 + C, h, w)
    text: torch.Tensor  # (B, L, D)
    names: list[str]
    variants: list[str]


class Sampler:
    """Draws batches from the cached units (see the module docstring)."""

    def __init__(
        self,
        units: list[CachedUnit],
        seed: int,
        batch_size: int,
        image_video_ratio: float,
        deletion_share: float,
    ) -> None:
        self.images = [u for u in units if u.kind == "image"]
        self.videos = [u for u in units if u.kind == "video"]
        if not self.images and not self.videos:
            raise ValueError("no cached units to train on")
        self.seed = seed
        self.batch_size = batch_size
        self.ratio = image_video_ratio
        self.deletion_share = deletion_share

    def rng(self, step: int, rank: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, step, rank])

    def choose(self, step: int, rank: int = 0) -> list[tuple[CachedUnit, str]]:
        """The (unit, variant) pairs of one step's batch."""
        rng = self.rng(step, rank)
        if self.images and self.videos:
            pool = self.images if rng.random() < self.ratio / (self.ratio + 1.0) else self.videos
        else:
            pool = self.images or self.videos
        picks = []
        for _ in range(self.batch_size):
            unit = pool[int(rng.integers(len(pool)))]
            deletion = bool(unit.deletion) and (not unit.augment or rng.random() < self.deletion_share)
            variants = unit.deletion if deletion else unit.augment
            picks.append((unit, variants[int(rng.integers(len(variants)))]))
        return picks

    def batch(self, step: int, rank: int, device: torch.device, dtype: torch.dtype) -> Batch:
        picks = self.choose(step, rank)
        loaded = [load_unit(unit, variant) for unit, variant in picks]
        return Batch(
            target=torch.stack([t for t, _, _ in loaded]).to(device, dtype),
            cond=torch.stack([c for _, c, _ in loaded]).to(device, dtype),
            text=torch.stack([e for _, _, e in loaded]).to(device, dtype),
            names=[u.name for u, _ in picks],
            variants=[v for _, v in picks],
        )


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """A CPU generator for the step's noise and timesteps (same numbers on any device)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 64 + rank)
