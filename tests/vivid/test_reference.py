"""The sampling loop is CogVideoX's: with the widened input weights at zero, VIVID's video mode reproduces
diffusers' CogVideoXPipeline for the same tiny model, embeddings, seed and scheduler."""

from __future__ import annotations

import copy

import pytest
import torch
from diffusers import CogVideoXDDIMScheduler, CogVideoXDPMScheduler, CogVideoXPipeline

from model_runtime.vivid.conditioning import ConditioningConfig, noisy_offset, widen_patch_embedding
from model_runtime.vivid.pipeline import VividPipeline
from model_runtime.vivid.tiny import MAX_TEXT_LEN, SCHEDULER_CONFIG, TEXT_DIM, tiny_components


def _embeds(seed: int) -> torch.Tensor:
    return torch.randn(1, MAX_TEXT_LEN, TEXT_DIM, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("scheduler_cls", "guidance", "dynamic", "order"),
    [
        (CogVideoXDPMScheduler, 6.0, False, ("noisy", "mask", "masked")),
        (CogVideoXDDIMScheduler, 4.5, True, ("mask", "masked", "noisy")),
        (CogVideoXDPMScheduler, 1.0, False, ("noisy", "masked", "mask")),  # no CFG
    ],
)
def test_zero_widened_model_reproduces_diffusers(scheduler_cls, guidance, dynamic, order):
    parts = tiny_components(seed=1, widened=False)
    parts.scheduler = scheduler_cls(**SCHEDULER_CONFIG)
    pe, ne = _embeds(5), _embeds(6)
    ref = CogVideoXPipeline(**parts.as_dict())
    ref.set_progress_bar_config(disable=True)
    expected = ref(
        prompt_embeds=pe,
        negative_prompt_embeds=ne,
        num_frames=9,
        height=32,
        width=32,
        num_inference_steps=2,
        guidance_scale=guidance,
        use_dynamic_cfg=dynamic,
        generator=torch.Generator().manual_seed(0),
        output_type="pt",
    ).frames  # (1, F, 3, H, W) in [0, 1]

    cond_cfg = ConditioningConfig(channel_order=order)
    wide = copy.deepcopy(parts.transformer)
    channels = parts.vae.config.latent_channels
    noisy_at = noisy_offset(order, channels)
    widen_patch_embedding(wide, 2 * channels + 1, noisy_at=noisy_at)
    assert wide.config.in_channels == 2 * channels + 1
    pipe = VividPipeline(**{**parts.as_dict(), "transformer": wide})
    pipe.conditioning = cond_cfg
    video = torch.rand(1, 3, 9, 32, 32, generator=torch.Generator().manual_seed(9)) * 2 - 1
    mask = torch.zeros(1, 1, 9, 32, 32)
    mask[..., 8:24, 4:20] = 1
    out = pipe(
        video,
        mask,
        pe,
        ne,
        steps=2,
        guidance=guidance,
        use_dynamic_cfg=dynamic,
        generator=torch.Generator().manual_seed(0),
    )
    ours = (out / 2 + 0.5).clamp(0, 1).permute(0, 2, 1, 3, 4)
    assert ours.shape == expected.shape
    # The same computation up to float rounding (4e-6 here; another torch or diffusers may sum in another
    # order): far below what any change of the conditioning does (> 1e-3, the control test below).
    assert torch.allclose(ours, expected, atol=1e-4, rtol=0), (ours - expected).abs().max()


def test_nonzero_inputs_change_the_output():
    """Control for the test above: once the new inputs carry weight, the conditioning matters."""
    parts = tiny_components(seed=1, widened=True)
    from model_runtime.vivid.tiny import randomize_new_inputs

    pipe = VividPipeline(**parts.as_dict())
    video = torch.rand(1, 3, 9, 32, 32, generator=torch.Generator().manual_seed(9)) * 2 - 1
    mask = torch.zeros(1, 1, 9, 32, 32)
    mask[..., 8:24, 4:20] = 1

    def run() -> torch.Tensor:
        gen = torch.Generator().manual_seed(0)
        return pipe(video, mask, _embeds(5), _embeds(6), steps=2, generator=gen)

    before = run()
    randomize_new_inputs(pipe.transformer, 0, parts.vae.config.latent_channels)
    assert (run() - before).abs().max() > 1e-3


def test_chunked_decode_equals_whole_decode_and_streams_9_then_8():
    parts = tiny_components(seed=2)
    pipe = VividPipeline(**parts.as_dict())
    latents = torch.randn(1, 13, 4, 2, 2, generator=torch.Generator().manual_seed(1))
    chunks = list(pipe.decode_chunks(latents))
    assert [c.shape[2] for _, c in chunks] == [9, 8, 8, 8, 8, 8]
    assert [first for first, _ in chunks] == [0, 9, 17, 25, 33, 41]
    whole = parts.vae.decode(latents.permute(0, 2, 1, 3, 4) / parts.vae.config.scaling_factor).sample
    assert torch.allclose(torch.cat([c for _, c in chunks], dim=2), whole, atol=1e-6)
