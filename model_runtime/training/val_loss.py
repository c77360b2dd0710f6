"""The validation loss: the training objective on the validation samples, at fixed timesteps and noise.

The training loss jumps from step to step because every step draws a new sample, timestep and noise. The
validation loss holds all of that still: each validation sample gives one unit (a video sample its first
``num_frames`` frames, built as the run's variant builds its video samples; an image its frame), with
its own mask as given (the ``original`` augmentation), evaluated at :data:`TIMESTEPS` with noise drawn
from a seed fixed per unit. Same weights, same number; a lower number is a better fit of data the run
never trains on. Each evaluation costs ``len(TIMESTEPS)`` forward passes per unit, no backward pass.

Deletion samples without an edited target are left out: their target still shows the entity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from model_runtime.training.augment import augment_mask
from model_runtime.training.cache import kive_masks
from model_runtime.training.objective import fixed_loss
from model_runtime.training.sampler import Batch
from model_runtime.training.units import Unit, unit_pixels
from vivid_desktop.datasets import CheckedSample

#: timesteps of every evaluation, spread over the schedule (the training draws them uniformly)
TIMESTEPS = (100, 300, 500, 700, 900)


@dataclass
class ValUnit:
    """One validation unit, encoded once and kept on the CPU."""

    batch: Batch
    seed: int


def val_units_of(samples: list[CheckedSample], num_frames: int) -> list[Unit]:
    """One unit per usable validation sample (see the module docstring)."""
    units = []
    for sample in samples:
        spec = sample.spec
        if spec.is_delete and spec.target is None:
            continue
        frames = num_frames if sample.is_video and spec.target is None else 1
        units.append(Unit(sample, spec.start, frames))
    return units


def prepare_val_loss(
    samples: list[CheckedSample], model, size: tuple[int, int], num_frames: int, kive: bool, seed: int
) -> list[ValUnit]:
    """Encode the validation units (targets, conditioning, captions) with the model's frozen encoders."""
    out = []
    for n, unit in enumerate(val_units_of(samples, num_frames)):
        frames, masks = unit_pixels(unit, *size)
        masks = augment_mask(masks, "original")
        if kive and unit.is_video:
            masks = kive_masks(frames, masks)
        cond = model.encode_conditions(frames, [masks])[0]
        batch = Batch(
            target=model.encode_target(frames)[None],
            cond=cond[None],
            text=model.encode_text(unit.sample.spec.caption)[None],
            names=[unit.name],
            variants=["kive" if kive and unit.is_video else "original"],
        )
        out.append(ValUnit(batch, (seed * 1_000_003 + n) % 2**63))
    return out


def validation_loss(model, units: list[ValUnit], size: tuple[int, int]) -> float:
    """The mean fixed-timestep loss over the units (the transformer's train/eval mode is restored)."""
    transformer = model.transformer
    was_training = transformer.training
    transformer.eval()
    bf16 = model.dtype == torch.bfloat16
    losses = []
    try:
        for unit in units:
            b = unit.batch
            batch = Batch(
                b.target.to(model.device, model.dtype),
                b.cond.to(model.device, model.dtype),
                b.text.to(model.device, model.dtype),
                b.names,
                b.variants,
            )
            rotary = model.pipe._rotary(size[0], size[1], b.target.shape[1], model.device)
            with torch.autocast(model.device.type, torch.bfloat16, enabled=bf16):
                loss = fixed_loss(
                    transformer,
                    model.scheduler,
                    batch,
                    rotary,
                    model.pipe.conditioning.channel_order,
                    TIMESTEPS,
                    unit.seed,
                )
            losses.append(loss)
    finally:
        transformer.train(was_training)
    return sum(losses) / len(losses)
