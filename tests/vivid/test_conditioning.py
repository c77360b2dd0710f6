"""Conditioning: the latent-grid mask, polarity/scale, the masked video, widening with zero weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from model_runtime.vivid.conditioning import (
    FUN_INP,
    ConditioningConfig,
    assemble_input,
    encode_condition,
    encoder_input,
    latent_frames,
    mask_to_latent,
    masked_video,
    widen_patch_embedding,
)
from model_runtime.vivid.tiny import tiny_components


def test_first_pixel_frame_has_its_own_latent_frame_then_four_per_latent():
    mask = torch.zeros(1, 1, 9, 16, 16)
    mask[:, :, 0, :8, :8] = 1  # frame 0 → latent 0
    mask[:, :, 4, 8:, 8:] = 1  # frames 1..4 → latent 1
    mask[:, :, 5, :8, 8:] = 1  # frames 5..8 → latent 2
    lat = mask_to_latent(mask, (3, 2, 2), "max")[0, 0]
    assert lat[0].tolist() == [[1, 0], [0, 0]]
    assert lat[1].tolist() == [[0, 0], [0, 1]]
    assert lat[2].tolist() == [[0, 1], [0, 0]]
    mean = mask_to_latent(mask, (3, 2, 2), "mean")[0, 0]
    assert mean[1, 1, 1] == pytest.approx(0.25)  # one of four pixel frames
    assert latent_frames(49) == 13 and latent_frames(1) == 1
    with pytest.raises(ValueError):
        latent_frames(48)


def test_masked_video_is_black_inside_the_mask():
    frames = torch.rand(1, 3, 1, 8, 8) * 2 - 1
    mask = torch.zeros(1, 1, 1, 8, 8)
    mask[..., 2:5, 2:5] = 1
    out = masked_video(frames, mask, ConditioningConfig())
    assert torch.all(out[..., 2:5, 2:5] == -1)
    assert torch.equal(out[..., 5:, :], frames[..., 5:, :])


def test_fun_conventions_match_the_fun_pipeline_formula():
    """CogVideoX-Fun: mask channel = trilinear(1 − mask) × VAE scaling factor; ours: max-pooled mask × 1."""
    parts = tiny_components(seed=0)
    vae = parts.vae
    video = torch.rand(1, 3, 9, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mask = torch.zeros(1, 1, 9, 32, 32)
    mask[..., 4:20, 8:30] = 1
    fun = encode_condition(vae, video, mask, FUN_INP.merged({"masked_noise": 0.0}))
    lat_shape = (3, 4, 4)
    inv = 1 - mask
    first = F.interpolate(inv[:, :, :1], size=(1, 4, 4), mode="trilinear", align_corners=False)
    rest = F.interpolate(inv[:, :, 1:], size=(2, 4, 4), mode="trilinear", align_corners=False)
    expected_mask = torch.cat([first, rest], dim=2) * vae.config.scaling_factor
    assert torch.allclose(fun[:, :, :1].permute(0, 2, 1, 3, 4), expected_mask, atol=1e-6)
    black = torch.where(mask.expand_as(video) > 0.5, -torch.ones_like(video), video)
    expected_latents = vae.encode(black).latent_dist.mode() * vae.config.scaling_factor
    assert torch.allclose(fun[:, :, 1:].permute(0, 2, 1, 3, 4), expected_latents, atol=1e-6)

    ours = encode_condition(vae, video, mask, ConditioningConfig())
    assert ours.shape == (1, *lat_shape[:1], 5, 4, 4)
    assert set(ours[:, :, 0].unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(ours[:, :, 0], mask_to_latent(mask, lat_shape, "max")[:, 0])


def test_assemble_input_follows_the_channel_order():
    noisy, cond = (
        torch.full((1, 2, 4, 1, 1), 1.0),
        torch.cat([torch.full((1, 2, 1, 1, 1), 2.0), torch.full((1, 2, 4, 1, 1), 3.0)], dim=2),
    )
    x = assemble_input(noisy, cond, ("mask", "noisy", "masked"))
    assert x[0, 0, :, 0, 0].tolist() == [2.0] + [1.0] * 4 + [3.0] * 4
    with pytest.raises(ValueError):
        ConditioningConfig(channel_order=("noisy", "mask"))


def test_widening_keeps_old_weights_and_zeroes_new_ones_conv_and_linear():
    from diffusers import CogVideoXTransformer3DModel

    for patch_t in (None, 2):
        torch.manual_seed(0)
        model = CogVideoXTransformer3DModel(
            num_attention_heads=2,
            attention_head_dim=16,
            in_channels=4,
            out_channels=4,
            time_embed_dim=8,
            text_embed_dim=32,
            num_layers=1,
            sample_width=4,
            sample_height=4,
            sample_frames=9,
            patch_size=2,
            patch_size_t=patch_t,
            max_text_seq_length=16,
            use_rotary_positional_embeddings=True,
            use_learned_positional_embeddings=False,
        )
        old = model.patch_embed.proj.weight.detach().clone()
        widen_patch_embedding(model, 9, noisy_at=1)
        new = model.patch_embed.proj.weight.detach().reshape(old.shape[0], 9, -1)
        assert model.config.in_channels == 9
        assert torch.equal(new[:, 1:5], old.reshape(old.shape[0], 4, -1))
        assert torch.all(new[:, 0] == 0) and torch.all(new[:, 5:] == 0)


def test_fun_binarises_the_mask_before_the_latent_grid():
    vae = tiny_components(seed=0).vae
    video = torch.zeros(1, 3, 1, 32, 32)
    mask = torch.zeros(1, 1, 1, 32, 32)
    mask[..., :, :16] = 0.4  # a soft edge below the threshold: known content
    mask[..., :, 16:] = 0.9  # above it: to regenerate
    soft = encode_condition(vae, video, mask, ConditioningConfig(mask_reduce="mean"))[0, 0, 0]
    hard = encode_condition(vae, video, mask, ConditioningConfig(mask_reduce="mean", mask_binarize=True))
    assert soft[:, :2].unique().tolist() == [pytest.approx(0.4)]
    assert hard[0, 0, 0, :, :2].unique().tolist() == [0.0] and hard[0, 0, 0, :, 2:].unique().tolist() == [1.0]
    assert FUN_INP.mask_binarize and not ConditioningConfig().mask_binarize


def test_an_all_masked_clip_passes_zero_mask_and_zero_masked_latents():
    vae = tiny_components(seed=0).vae
    video = torch.rand(2, 3, 9, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    mask = torch.ones(2, 1, 9, 32, 32)
    mask[1, :, 3, :4, :4] = 0  # the second clip keeps a few pixels
    fun = encode_condition(vae, video, mask, FUN_INP.merged({"masked_noise": 0.0}))
    assert torch.count_nonzero(fun[0]) == 0
    assert torch.count_nonzero(fun[1]) > 0
    ours = encode_condition(vae, video, mask, ConditioningConfig())
    assert torch.count_nonzero(ours[0, :, 1:]) > 0  # ours: the latents of a black clip


def test_letterbox_black_stays_unnoised():
    frames = torch.rand(1, 3, 1, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    frames[..., :4, :] = -1.0  # letterbox bars
    mask = torch.zeros(1, 1, 1, 16, 16)
    noisy = ConditioningConfig(masked_noise=0.1)
    fun_like = noisy.merged({"noise_skips_black": True})
    plain = encoder_input(frames, mask, noisy, torch.Generator().manual_seed(0))
    kept = encoder_input(frames, mask, fun_like, torch.Generator().manual_seed(0))
    assert not torch.equal(plain[..., :4, :], frames[..., :4, :])
    assert torch.equal(kept[..., :4, :], frames[..., :4, :])  # bars exactly −1
    assert torch.equal(kept[..., 4:, :], plain[..., 4:, :])  # picture noised as before
