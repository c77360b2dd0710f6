"""Validation renders: the user's own keyframes edited in image mode with the LoRA being trained.

Every N steps each validation sample (a project's keyframes, a folder's ``validation/`` samples, records
with ``"split": "validation"``) is rendered with a fixed seed, composited over its source outside the mask
and written to ``<work_dir>/validation/step-000100/<n>.png``, so renders of different steps compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model_runtime.engines.composite import composite
from model_runtime.training.units import Unit, unit_pixels
from vivid_desktop.core.files import write_png
from vivid_desktop.datasets import CheckedSample


@dataclass
class ValidationItem:
    name: str
    frame: np.ndarray  # (H, W, 3) uint8 at the training size
    mask: np.ndarray  # (H, W) uint8
    embeds: torch.Tensor  # (1, L, D)


def prepare_validation(samples: list[CheckedSample], model, size: tuple[int, int]) -> list[ValidationItem]:
    """Pixels and caption embeddings of the validation samples (first frame of each), read once."""
    items = []
    for sample in samples:
        frames, masks = unit_pixels(Unit(sample, sample.spec.start, 1), *size)
        embeds = model.encode_text(sample.spec.caption)[None]
        items.append(ValidationItem(sample.spec.name, frames[0], masks[0], embeds))
    return items


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:48] or "sample"


@torch.no_grad()
def render_validation(
    model,
    items: list[ValidationItem],
    step: int,
    out_dir: Path,
    steps: int,
    guidance: float,
    seed: int,
) -> list[tuple[ValidationItem, Path, np.ndarray]]:
    """Render every item; return ``(item, png path, image)``."""
    transformer = model.transformer
    was_training = transformer.training
    transformer.eval()
    folder = out_dir / f"step-{step:06d}"
    results = []
    try:
        for n, item in enumerate(items):
            video = torch.from_numpy(item.frame).permute(2, 0, 1)[None, :, None].float() / 127.5 - 1.0
            mask = torch.from_numpy(item.mask)[None, None, None].float() / 255.0
            out = model.pipe(
                video.to(model.device, model.dtype),
                mask.to(model.device),
                item.embeds.to(model.device, model.dtype),
                steps=steps,
                guidance=guidance,
                generator=torch.Generator().manual_seed(seed + n),
            )
            image = (
                ((out[0, :, 0].float().clamp(-1, 1) + 1) * 127.5)
                .round()
                .byte()
                .permute(1, 2, 0)
                .cpu()
                .numpy()
            )
            image = composite(item.frame, image, item.mask)
            path = folder / f"{n:02d}-{_slug(item.name)}.png"
            write_png(path, image, durable=False)
            results.append((item, path, image))
    finally:
        transformer.train(was_training)
    return results
