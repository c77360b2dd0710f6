"""Training units: the clips and frames a checked dataset turns into, and their pixels.

A video sample gives consecutive windows of ``num_frames`` frames (video units) plus a few evenly spaced
single frames (image units; the paper trains on many more images than videos). An image, an edited
keyframe or a keyframe frame gives one image unit. Each unit is cached and drawn on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vivid_desktop.datasets import CheckedSample
from vivid_desktop.datasets.media import fit, read_frames, read_masks


@dataclass(frozen=True)
class Unit:
    """Frames ``[start, start + frames)`` of one checked sample; ``frames == 1`` is image mode."""

    sample: CheckedSample
    start: int
    frames: int

    @property
    def is_video(self) -> bool:
        return self.frames > 1

    @property
    def name(self) -> str:
        if self.is_video:
            return f"{self.sample.spec.name} [{self.start}–{self.start + self.frames - 1}]"
        return f"{self.sample.spec.name} [{self.start}]"


def units_of(sample: CheckedSample, num_frames: int, image_frames_per_clip: int) -> list[Unit]:
    """The units of one sample (see the module docstring)."""
    spec = sample.spec
    if not sample.is_video:
        return [Unit(sample, spec.start, 1)]
    units = [Unit(sample, s, num_frames) for s in range(spec.start, sample.stop - num_frames + 1, num_frames)]
    if image_frames_per_clip > 0:
        picks = np.linspace(spec.start, sample.stop - 1, image_frames_per_clip).round().astype(int)
        units += [Unit(sample, int(f), 1) for f in sorted(set(picks.tolist()))]
    return units


def unit_pixels(unit: Unit, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The unit's target frames ``(T, H, W, 3)`` and masks ``(T, H, W)`` at the training size."""
    spec = unit.sample.spec
    if spec.target is not None:
        frames = read_frames(spec.target, 0, 1)
    else:
        frames = read_frames(spec.media, unit.start, unit.frames)
    assert spec.mask is not None  # checked
    masks = read_masks(spec.mask, spec.mask_index(unit.start), unit.frames)
    return fit(frames, height, width), fit(masks, height, width)
