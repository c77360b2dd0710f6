"""The VIVID sampling pipeline on diffusers: image mode (1 frame) and video mode (8k+1 frames).

The denoising loop is CogVideoX's (v-prediction, classifier-free guidance, CogVideoX DDIM/DPM schedulers,
rotary embeddings) with one difference: the transformer input is the noisy latents concatenated with
the conditioning of :mod:`model_runtime.vivid.conditioning`. With the widened input weights at zero it
reproduces ``diffusers.CogVideoXPipeline`` exactly (tests/vivid/test_reference.py).

Streaming: ``on_step(i, total, latents)`` runs after every step (the engine raises from it to cancel and
draws a latent preview); :meth:`VividPipeline.decode_chunks` decodes the VAE's natural chunks (2 latent
frames with its causal cache: 9 pixel frames first, then 8) so frames can be written as they come.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from typing import cast

import torch
from diffusers.loaders import CogVideoXLoraLoaderMixin
from diffusers.models.embeddings import get_3d_rotary_pos_embed
from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.schedulers.scheduling_ddim_cogvideox import CogVideoXDDIMScheduler
from diffusers.schedulers.scheduling_dpm_cogvideox import CogVideoXDPMScheduler
from diffusers.utils.torch_utils import randn_tensor

from model_runtime.vivid.conditioning import (
    ConditioningConfig,
    assemble_input,
    encode_condition,
    latent_frames,
)

StepCallback = Callable[[int, int, torch.Tensor], None]


def decode_bounds(latents: int, batch: int = 2, first_alone: bool = False) -> list[tuple[int, int]]:
    """Latent-frame chunks ``[(a, b), …]`` the VAE decodes one after another (with its causal cache).

    The latent count must be odd: ``CogVideoXUpsample3D`` keeps frame 0 apart only in an odd-length
    chunk, so an even count would decode to doubled, time-misaligned frames. Default: diffusers'
    ``AutoencoderKLCogVideoX.decode`` (frames 0–2, then pairs: 9 pixel frames, then 8 each);
    ``first_alone``: CogVideoX-Fun's VAE (frame 0 alone: 1 pixel frame, then pairs: 8 each).
    """
    if latents > 1 and latents % 2 == 0:
        raise ValueError(
            f"{latents} latent frames would decode to doubled frames; the model needs 8k+1 pixel frames"
        )
    if first_alone:
        return [(0, 1)] + [(a, min(a + batch, latents)) for a in range(1, latents, batch)]
    rem = latents % batch
    return [
        (batch * i + (0 if i == 0 else rem), batch * (i + 1) + rem) for i in range(max(latents // batch, 1))
    ]


SCHEDULERS = {"dpm": CogVideoXDPMScheduler, "ddim": CogVideoXDDIMScheduler}


class VividPipeline(DiffusionPipeline, CogVideoXLoraLoaderMixin):
    """CogVideoX with the VIVID input (noisy latents + mask + masked-video latents)."""

    # diffusers leaves the base value None without an annotation, so mypy takes its type as None.
    model_cpu_offload_seq = "text_encoder->transformer->vae"  # type: ignore[assignment]
    _optional_components = ["tokenizer", "text_encoder"]  # noqa: RUF012 (diffusers API)

    def __init__(self, tokenizer, text_encoder, vae, transformer, scheduler) -> None:
        super().__init__()
        self.register_modules(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            vae=vae,
            transformer=transformer,
            scheduler=scheduler,
        )
        self.conditioning = ConditioningConfig()
        self.spatial = 2 ** (len(vae.config.block_out_channels) - 1)
        self.temporal = int(vae.config.temporal_compression_ratio)

    # -- text ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_prompt(self, prompt: str, max_sequence_length: int | None = None) -> torch.Tensor:
        """T5 embeddings ``(1, L, D)`` of one caption, padded to the model's text length."""
        if self.tokenizer is None or self.text_encoder is None:
            raise RuntimeError("this model has no text encoder; pass prompt embeddings")
        length = max_sequence_length or int(self.transformer.config.max_text_seq_length)
        ids = self.tokenizer(
            [prompt],
            padding="max_length",
            max_length=length,
            truncation=True,
            add_special_tokens=True,
            return_tensors="pt",
        ).input_ids
        device = self._execution_device
        embeds = self.text_encoder(ids.to(device))[0]
        return embeds.to(device=device, dtype=self.transformer.dtype)

    # -- conditioning ---------------------------------------------------------------------------------
    def condition(
        self, video: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """Conditioning latents for ``video`` ``(1, 3, F, H, W)`` in [-1, 1] and ``mask`` ``(1, 1, F, H, W)``.

        ``None`` for a plain (not widened) transformer.
        """
        if self.transformer.config.in_channels == self.transformer.config.out_channels:
            return None
        return encode_condition(self.vae, video, mask, self.conditioning, generator, self._execution_device)

    # -- sampling -------------------------------------------------------------------------------------
    def _rotary(
        self, height: int, width: int, frames: int, device
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        cfg = self.transformer.config
        if not cfg.use_rotary_positional_embeddings:
            return None
        gh, gw = height // (self.spatial * cfg.patch_size), width // (self.spatial * cfg.patch_size)
        crops = get_resize_crop_region_for_grid(
            (gh, gw), cfg.sample_width // cfg.patch_size, cfg.sample_height // cfg.patch_size
        )
        embed = get_3d_rotary_pos_embed(
            embed_dim=cfg.attention_head_dim,
            crops_coords=crops,
            grid_size=(gh, gw),
            temporal_size=frames,
            device=device,
        )
        return cast(tuple[torch.Tensor, torch.Tensor], embed)  # use_real (the default): (cos, sin)

    def _step_kwargs(self, generator, eta: float) -> dict[str, object]:
        params = set(inspect.signature(self.scheduler.step).parameters)
        kwargs: dict[str, object] = {}
        if "eta" in params:
            kwargs["eta"] = eta
        if "generator" in params:
            kwargs["generator"] = generator
        return kwargs

    @torch.no_grad()
    def denoise(
        self,
        cond: torch.Tensor | None,
        prompt_embeds: torch.Tensor,
        negative_prompt_embeds: torch.Tensor | None,
        *,
        num_frames: int,
        height: int,
        width: int,
        steps: int = 50,
        guidance: float = 6.0,
        generator: torch.Generator | None = None,
        use_dynamic_cfg: bool = False,
        eta: float = 0.0,
        on_step: StepCallback | None = None,
    ) -> torch.Tensor:
        """Run the sampling loop; returns the final latents ``(1, Lf, C, h, w)``."""
        device = self._execution_device
        do_cfg = guidance > 1.0
        embeds = prompt_embeds
        if do_cfg:
            neg = (
                negative_prompt_embeds
                if negative_prompt_embeds is not None
                else torch.zeros_like(prompt_embeds)
            )
            embeds = torch.cat([neg, prompt_embeds], dim=0)
        self.scheduler.set_timesteps(steps, device=device)
        timesteps = self.scheduler.timesteps
        lf = latent_frames(num_frames, self.temporal)
        shape = (1, lf, self.transformer.config.out_channels, height // self.spatial, width // self.spatial)
        latents = randn_tensor(shape, generator=generator, device=device, dtype=embeds.dtype)
        latents = latents * self.scheduler.init_noise_sigma
        step_kwargs = self._step_kwargs(generator, eta)
        rotary = self._rotary(height, width, lf, device)
        cond_in = None
        if cond is not None:
            cond = cond.to(device=device, dtype=embeds.dtype)
            cond_in = torch.cat([cond, cond]) if do_cfg else cond
        old_pred = None
        for i, t in enumerate(timesteps):
            x = torch.cat([latents] * 2) if do_cfg else latents
            x = self.scheduler.scale_model_input(x, t)
            if cond_in is not None:
                x = assemble_input(x, cond_in, self.conditioning.channel_order)
            with self.transformer.cache_context("cond_uncond"):
                pred = self.transformer(
                    hidden_states=x,
                    encoder_hidden_states=embeds,
                    timestep=t.expand(x.shape[0]),
                    image_rotary_emb=rotary,
                    return_dict=False,
                )[0].float()
            if do_cfg:
                scale = guidance
                if use_dynamic_cfg:  # CogVideoX's cosine ramp of the guidance over the steps
                    scale = 1 + guidance * ((1 - math.cos(math.pi * ((steps - t.item()) / steps) ** 5.0)) / 2)
                uncond, text = pred.chunk(2)
                pred = uncond + scale * (text - uncond)
            if isinstance(self.scheduler, CogVideoXDPMScheduler):
                prev = timesteps[i - 1] if i > 0 else None
                latents, old_pred = self.scheduler.step(
                    pred, old_pred, t, prev, latents, **step_kwargs, return_dict=False
                )
            else:
                latents = self.scheduler.step(pred, t, latents, **step_kwargs, return_dict=False)[0]
            latents = latents.to(embeds.dtype)
            if on_step is not None:
                on_step(i, len(timesteps), latents)
        return latents

    # -- decoding -------------------------------------------------------------------------------------
    @torch.no_grad()
    def decode_chunks(
        self, latents: torch.Tensor, first_alone: bool | None = None
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(first_frame, frames)`` with frames ``(1, 3, f, H, W)`` in [-1, 1], chunk by chunk.

        The VAE's causal conv cache carries across chunks. Chunks follow :func:`decode_bounds`:
        diffusers' grouping (latent frames 0–2, then pairs) or, with ``first_alone`` (default: the
        conditioning's ``decode_first_alone``, CogVideoX-Fun's VAE), frame 0 alone then pairs. With VAE
        tiling on, the tiled decoder runs once and its frames come as one chunk.
        """
        vae = self.vae
        hook = getattr(vae, "_hf_hook", None)
        if hook is not None:  # model CPU offload: move the VAE to the GPU as ``decode`` would
            hook.pre_forward(vae)
        z = latents.permute(0, 2, 1, 3, 4).to(vae.dtype) / float(vae.config.scaling_factor)
        n, h, w = z.shape[2:]
        if first_alone is None:
            first_alone = self.conditioning.decode_first_alone
        bounds = decode_bounds(n, vae.num_latent_frames_batch_size, first_alone)
        if vae.use_tiling and (w > vae.tile_latent_min_width or h > vae.tile_latent_min_height):
            yield 0, vae.tiled_decode(z).sample
            return
        cache = None
        first = 0
        for a, b in bounds:
            part = z[:, :, a:b]
            if vae.post_quant_conv is not None:
                part = vae.post_quant_conv(part)
            out, cache = vae.decoder(part, conv_cache=cache)
            yield first, out
            first += out.shape[2]

    # -- one pass -------------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        video: torch.Tensor,
        mask: torch.Tensor,
        prompt_embeds: torch.Tensor,
        negative_prompt_embeds: torch.Tensor | None = None,
        *,
        steps: int = 50,
        guidance: float = 6.0,
        generator: torch.Generator | None = None,
        cond_generator: torch.Generator | None = None,
        use_dynamic_cfg: bool = False,
        on_step: StepCallback | None = None,
    ) -> torch.Tensor:
        """Edit ``video`` ``(1, 3, F, H, W)`` in [-1, 1] inside ``mask``; returns decoded frames in [-1, 1].

        ``F = 1`` is image mode (one latent frame); ``F = 8k+1`` is video mode.
        """
        _, _, frames, height, width = video.shape
        cond = self.condition(video, mask, cond_generator)
        latents = self.denoise(
            cond,
            prompt_embeds,
            negative_prompt_embeds,
            num_frames=frames,
            height=height,
            width=width,
            steps=steps,
            guidance=guidance,
            generator=generator,
            use_dynamic_cfg=use_dynamic_cfg,
            on_step=on_step,
        )
        return torch.cat([chunk for _, chunk in self.decode_chunks(latents)], dim=2)
