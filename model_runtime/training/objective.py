"""CogVideoX's training objective with the VIVID input.

The transformer predicts ``v``; like CogVideoX's own trainer (and diffusers' CogVideoX LoRA example) we
turn it into a prediction of the clean latents, ``x0 = sqrt(ᾱ)·x_t − sqrt(1 − ᾱ)·v``, and weight the
squared error by ``1 / (1 − ᾱ_t)``. The target is the original clip's latents (DESIGN.md §1: no separate
target); the input is the noisy latents concatenated with the cached conditioning (mask + masked video)
in the model's channel order.
"""

from __future__ import annotations

import torch

from model_runtime.training.sampler import Batch
from model_runtime.vivid.conditioning import ConditioningConfig, assemble_input


def _predict_x0(
    transformer: torch.nn.Module,
    scheduler,
    batch: Batch,
    noise: torch.Tensor,
    timesteps: torch.Tensor,
    rotary,
    order: tuple[str, ...],
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0 prediction, noisy latents) for given noise and timesteps."""
    noisy = scheduler.add_noise(batch.target, noise, timesteps)
    x = assemble_input(noisy, batch.cond, order)
    v = transformer(
        hidden_states=x,
        encoder_hidden_states=batch.text,
        timestep=timesteps,
        image_rotary_emb=rotary,
        return_dict=False,
    )[0]
    return scheduler.get_velocity(v.float(), noisy.float(), timesteps), noisy


def draw_noise(batch: Batch, scheduler, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise and timesteps from a CPU generator, so every device and every resume draws the same."""
    noise = torch.randn(batch.target.shape, generator=generator, dtype=torch.float32)
    steps = int(scheduler.config.num_train_timesteps)
    timesteps = torch.randint(0, steps, (batch.target.shape[0],), generator=generator)
    device = batch.target.device
    return noise.to(device, batch.target.dtype), timesteps.to(device)


def weighted_loss(
    transformer: torch.nn.Module,
    scheduler,
    batch: Batch,
    noise: torch.Tensor,
    timesteps: torch.Tensor,
    rotary,
    order: tuple[str, ...],
) -> torch.Tensor:
    """The x0 error weighted by ``1 / (1 − ᾱ_t)``, averaged over the batch, for given noise and timesteps."""
    x0, _ = _predict_x0(transformer, scheduler, batch, noise, timesteps, rotary, order)
    alphas = scheduler.alphas_cumprod.to(timesteps.device)[timesteps].float()
    weights = (1.0 / (1.0 - alphas)).view(-1, 1, 1, 1, 1)
    error = weights * (x0 - batch.target.float()) ** 2
    return error.reshape(error.shape[0], -1).mean(dim=1).mean()


def v_prediction_loss(
    transformer: torch.nn.Module,
    scheduler,
    batch: Batch,
    generator: torch.Generator,
    rotary,
    order: tuple[str, ...],
) -> torch.Tensor:
    """The training loss of one batch: random noise and timesteps (a scalar with gradients)."""
    noise, timesteps = draw_noise(batch, scheduler, generator)
    return weighted_loss(transformer, scheduler, batch, noise, timesteps, rotary, order)


@torch.no_grad()
def fixed_loss(
    transformer: torch.nn.Module,
    scheduler,
    batch: Batch,
    rotary,
    order: tuple[str, ...],
    timesteps: tuple[int, ...],
    seed: int,
) -> float:
    """The training loss at fixed timesteps, with noise drawn from ``seed`` (the same on every call)."""
    generator = torch.Generator().manual_seed(seed)
    device = batch.target.device
    total = 0.0
    for t in timesteps:
        noise = torch.randn(batch.target.shape, generator=generator, dtype=torch.float32)
        steps = torch.full((batch.target.shape[0],), int(t), device=device, dtype=torch.long)
        noise = noise.to(device, batch.target.dtype)
        total += float(weighted_loss(transformer, scheduler, batch, noise, steps, rotary, order))
    return total / len(timesteps)


def edit_region(cond: torch.Tensor, config: ConditioningConfig, scaling: float) -> torch.Tensor:
    """The latent cells to regenerate, from the conditioning's mask channel ``(B, Lf, 1, h, w)`` → bool."""
    scale = scaling if config.mask_scale is None else float(config.mask_scale)
    mask = cond[:, :, :1].float() / scale
    return mask > 0.5 if config.mask_polarity == "edit" else mask < 0.5


@torch.no_grad()
def masked_error(
    transformer: torch.nn.Module,
    scheduler,
    batch: Batch,
    rotary,
    config: ConditioningConfig,
    scaling: float,
    timesteps: tuple[int, ...] = (100, 300, 500, 700, 900),
    seed: int = 1234,
) -> float:
    """Mean squared x0 error *inside the mask*, at fixed timesteps and noise: a held-out yardstick."""
    region = edit_region(batch.cond, config, scaling).expand_as(batch.target)
    total, count = 0.0, 0
    generator = torch.Generator().manual_seed(seed)
    for t in timesteps:
        noise = torch.randn(batch.target.shape, generator=generator).to(
            batch.target.device, batch.target.dtype
        )
        steps = torch.full((batch.target.shape[0],), t, device=batch.target.device, dtype=torch.long)
        x0, _ = _predict_x0(transformer, scheduler, batch, noise, steps, rotary, config.channel_order)
        diff = (x0 - batch.target.float())[region]
        total += float((diff**2).sum())
        count += int(diff.numel())
    return total / max(count, 1)
