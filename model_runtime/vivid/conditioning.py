"""The VIVID conditioning: what the widened transformer sees besides the noisy latents (DESIGN.md §1).

The transformer input has ``2C + 1`` channels per latent frame (C = 16 for CogVideoX): C noisy latents,
1 mask channel on the latent grid, and C VAE latents of the *masked video* (masked pixels black).
Where the paper is silent we chose, and every choice is a field of :class:`ConditioningConfig` so a
checkpoint trained another way loads with its own settings (``vivid.json`` → ``conditioning``):

- ``channel_order`` — groups in input order. Ours: ``noisy, mask, masked`` (CogVideoX-Fun InP's order).
- ``mask_polarity`` — ``edit``: 1 = regenerate, 0 = known (ours: a keyframe as known content has mask 0);
  ``keep``: 1 = known (CogVideoX-Fun computes ``1 − mask``).
- ``mask_scale`` — the mask channel's value for "1"; ``None`` = the VAE's scaling factor (Fun: 0.7).
- ``mask_reduce`` — pixel mask → latent grid. The first pixel frame maps to its own latent frame, then
  4 pixel frames per latent frame. ``max`` (ours): a latent cell is "edit" if any of its pixels is, so
  known content is never claimed where pixels change; ``mean``: the covered fraction; ``interp``:
  trilinear resampling (Fun).
- ``masked_fill`` / ``mask_threshold`` — pixels with mask ≥ threshold become this value in [-1, 1]
  (-1 = black) before the VAE encodes the masked video.
- ``masked_noise`` — std of noise added to the kept pixels of the masked video (Fun V1.1: 0.0563).
- ``mask_binarize`` — threshold the pixel mask (``≥ mask_threshold`` → 1) before it is brought to the
  latent grid, so a feathered or resized edge does not leave fractions there (Fun).
- ``all_masked_zero`` — when every pixel is masked, the mask channel and the masked-video latents are
  all zero (nothing is known; Fun passes zeros rather than the latents of a black clip).
- ``noise_skips_black`` — ``masked_noise`` is not added to pixels equal to −1 (letterbox padding and
  masked pixels stay exactly black, as in Fun).
- ``decode_first_alone`` — the VAE decodes latent frame 0 alone, then pairs (Fun's VAE); off: diffusers'
  grouping (frames 0–2, then pairs). Same frames, slightly different pixels in the first frames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Literal, TypeVar, cast

import torch
import torch.nn.functional as F

from model_runtime.vivid.parts import PatchProjection, config, patch_projection, set_patch_projection

if TYPE_CHECKING:
    from diffusers.models.autoencoders.autoencoder_kl_cogvideox import AutoencoderKLCogVideoX
    from diffusers.models.modeling_utils import ModelMixin

GROUPS = ("noisy", "mask", "masked")
M = TypeVar("M", bound="ModelMixin")


@dataclass(frozen=True)
class ConditioningConfig:
    """How the mask and the masked video enter the transformer (see the module docstring)."""

    channel_order: tuple[str, ...] = GROUPS
    mask_polarity: Literal["edit", "keep"] = "edit"
    mask_scale: float | None = 1.0
    mask_reduce: Literal["max", "mean", "interp"] = "max"
    masked_fill: float = -1.0
    mask_threshold: float = 0.5
    masked_noise: float = 0.0
    decode_first_alone: bool = False
    mask_binarize: bool = False
    all_masked_zero: bool = False
    noise_skips_black: bool = False

    def __post_init__(self) -> None:
        if sorted(self.channel_order) != sorted(GROUPS):
            raise ValueError(f"channel_order must be a permutation of {GROUPS}, got {self.channel_order}")
        if self.mask_polarity not in ("edit", "keep"):
            raise ValueError(f"mask_polarity must be 'edit' or 'keep', got {self.mask_polarity!r}")
        if self.mask_reduce not in ("max", "mean", "interp"):
            raise ValueError(f"mask_reduce must be max, mean or interp, got {self.mask_reduce!r}")

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["channel_order"] = list(self.channel_order)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> ConditioningConfig:
        """Build from a settings dict; unknown keys are ignored (a newer writer's extras)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in (data or {}).items() if k in known}
        if "channel_order" in kwargs:
            kwargs["channel_order"] = tuple(kwargs["channel_order"])  # type: ignore[arg-type]
        return cls(**kwargs)  # type: ignore[arg-type]

    def merged(self, overrides: dict[str, object] | None) -> ConditioningConfig:
        return ConditioningConfig.from_dict({**self.to_dict(), **(overrides or {})})


#: CogVideoX-Fun V1.1 InP conventions (its public pipeline; mask scale = the VAE's scaling factor).
FUN_INP = ConditioningConfig(
    mask_polarity="keep",
    mask_scale=None,
    mask_reduce="interp",
    masked_noise=0.0563,
    decode_first_alone=True,
    mask_binarize=True,
    all_masked_zero=True,
    noise_skips_black=True,
)


def widen_patch_embedding(transformer: M, in_channels: int, noisy_at: int = 0) -> M:
    """Widen the patch embedding to ``in_channels`` inputs in place; the new input weights start at zero.

    The existing weights keep serving the noisy latents, placed at input channel ``noisy_at`` (0 for our
    ``noisy, mask, masked`` order). Works for CogVideoX 1.0 (Conv2d) and 1.5 (Linear over
    ``C × p_t × p × p``, channel-major).
    """
    proj = patch_projection(transformer)
    old = int(config(transformer).in_channels)
    if in_channels == old:
        return transformer
    if in_channels < old:
        raise ValueError(f"cannot narrow the patch embedding from {old} to {in_channels} channels")
    weight = proj.weight.data
    out_dim = weight.shape[0]
    grouped = weight.reshape(out_dim, old, -1)
    wide = grouped.new_zeros(out_dim, in_channels, grouped.shape[2])
    wide[:, noisy_at : noisy_at + old] = grouped
    bias = proj.bias is not None
    new: PatchProjection
    if isinstance(proj, torch.nn.Conv2d):
        pair = cast(tuple[int, int], proj.kernel_size), cast(tuple[int, int], proj.stride)  # 2-D: pairs
        new = torch.nn.Conv2d(in_channels, out_dim, *pair, bias=bias)
        new.weight.data = wide.reshape(out_dim, in_channels, *proj.kernel_size).contiguous()
    else:
        new = torch.nn.Linear(wide.shape[1] * wide.shape[2], out_dim, bias=bias)
        new.weight.data = wide.reshape(out_dim, -1).contiguous()
    if proj.bias is not None and new.bias is not None:  # one has a bias when the other has
        new.bias.data = proj.bias.data.clone()
    new.to(device=weight.device, dtype=weight.dtype)
    set_patch_projection(transformer, new)
    transformer.register_to_config(in_channels=in_channels)
    return transformer


def latent_frames(frames: int, temporal: int = 4) -> int:
    """Latent frames for ``frames`` pixel frames (``4k+1`` → ``k+1``)."""
    if (frames - 1) % temporal:
        raise ValueError(f"the model needs 4k+1 frames, got {frames}")
    return (frames - 1) // temporal + 1


def mask_to_latent(mask: torch.Tensor, grid: tuple[int, int, int], reduce: str = "max") -> torch.Tensor:
    """Reduce a pixel mask ``(B, 1, F, H, W)`` in [0, 1] to the latent grid ``(B, 1, Lf, h, w)``.

    Pixel frame 0 → latent frame 0; pixel frames ``1+4(i-1) … 4i`` → latent frame ``i``.
    """
    lf, h, w = grid
    first, rest = mask[:, :, :1], mask[:, :, 1:]
    if reduce == "interp":
        parts = [F.interpolate(first, size=(1, h, w), mode="trilinear", align_corners=False)]
        if lf > 1:
            parts.append(F.interpolate(rest, size=(lf - 1, h, w), mode="trilinear", align_corners=False))
    else:
        pool = F.adaptive_max_pool3d if reduce == "max" else F.adaptive_avg_pool3d
        parts = [pool(first, (1, h, w))]
        if lf > 1:
            parts.append(pool(rest, (lf - 1, h, w)))
    return torch.cat(parts, dim=2)


def masked_video(frames: torch.Tensor, mask: torch.Tensor, cfg: ConditioningConfig) -> torch.Tensor:
    """``frames`` ``(B, 3, F, H, W)`` in [-1, 1] with the masked pixels set to ``cfg.masked_fill``."""
    hole = mask >= cfg.mask_threshold
    return torch.where(hole, torch.full_like(frames, cfg.masked_fill), frames)


def encoder_input(
    frames: torch.Tensor,
    mask: torch.Tensor,
    cfg: ConditioningConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The pixels the VAE encodes: the masked video, plus ``masked_noise`` on the kept pixels."""
    video = masked_video(frames, mask, cfg)
    if cfg.masked_noise > 0:
        noise = torch.randn(video.shape, generator=generator, device=generator.device if generator else None)
        keep = mask < cfg.mask_threshold
        if cfg.noise_skips_black:
            keep = keep & (video > -1.0)  # letterbox padding stays exactly black
        video = video + noise.to(video) * cfg.masked_noise * keep
    return video


@torch.no_grad()
def encode_condition(
    vae: AutoencoderKLCogVideoX,
    frames: torch.Tensor,
    mask: torch.Tensor,
    cfg: ConditioningConfig,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The conditioning latents ``(B, Lf, 1 + C, h, w)``: mask channel then masked-video latents.

    ``frames``: ``(B, 3, F, H, W)`` in [-1, 1]; ``mask``: ``(B, 1, F, H, W)`` in [0, 1], 1 = regenerate.
    """
    scaling = float(config(vae).scaling_factor)
    video = encoder_input(frames, mask, cfg, generator)
    device = device if device is not None else next(vae.parameters()).device
    latents = vae.encode(video.to(device, vae.dtype)).latent_dist.mode() * scaling
    grid = tuple(latents.shape[2:])
    pixel_mask = mask.to(latents.device, torch.float32)
    if cfg.mask_binarize:
        pixel_mask = (pixel_mask >= cfg.mask_threshold).float()
    m = mask_to_latent(pixel_mask, grid, cfg.mask_reduce)
    if cfg.mask_polarity == "keep":
        m = 1.0 - m
    m = m * (scaling if cfg.mask_scale is None else float(cfg.mask_scale))
    cond = torch.cat([m.to(latents.dtype), latents], dim=1)  # (B, 1 + C, Lf, h, w)
    if cfg.all_masked_zero:
        everything = (mask >= cfg.mask_threshold).flatten(1).all(dim=1).to(cond.device)
        cond = torch.where(everything[:, None, None, None, None], torch.zeros_like(cond), cond)
    return cond.permute(0, 2, 1, 3, 4).contiguous()


def noisy_offset(order: tuple[str, ...], channels: int) -> int:
    """Input channel where the noisy latents start for a channel order."""
    sizes = {"noisy": channels, "mask": 1, "masked": channels}
    return sum(sizes[name] for name in order[: order.index("noisy")])


def assemble_input(noisy: torch.Tensor, cond: torch.Tensor, order: tuple[str, ...]) -> torch.Tensor:
    """Concatenate noisy latents ``(B, Lf, C, h, w)`` and ``cond`` in the configured channel order."""
    groups = {"noisy": noisy, "mask": cond[:, :, :1], "masked": cond[:, :, 1:]}
    return torch.cat([groups[name].to(noisy.dtype) for name in order], dim=2)
