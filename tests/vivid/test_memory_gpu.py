"""Opt-in (``pytest -m gpu`` on a CUDA machine): every memory mode gives the all-on-GPU frames."""

from __future__ import annotations

import pytest
import torch

from model_runtime.vivid.loading import load_model
from model_runtime.vivid.memory import LADDER, apply_memory_mode

pytestmark = pytest.mark.gpu


def _pass(pipe) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    video = torch.rand(1, 3, 9, 64, 64, generator=gen) * 2 - 1
    mask = torch.zeros(1, 1, 9, 64, 64)
    mask[..., 16:48, 16:48] = 1
    pe, ne = pipe.encode_prompt("a red balloon"), pipe.encode_prompt("")
    return pipe(video, mask, pe, ne, steps=3, generator=torch.Generator().manual_seed(1)).float().cpu()


def test_every_memory_mode_matches_all_on_gpu(tiny_model):
    assert torch.cuda.is_available(), "the gpu marker needs a CUDA device"
    pipe = load_model(tiny_model).pipe
    apply_memory_mode(pipe, "gpu", "cuda")
    reference = _pass(pipe)
    for mode in LADDER[1:]:
        apply_memory_mode(pipe, mode, "cuda")
        pipe.vae.enable_tiling(32, 32, 0.25, 0.25)  # the tiny VAE needs tiles larger than its default
        out = _pass(pipe)
        pipe.maybe_free_model_hooks()
        # offload is exact; tiling blends tile seams (same tolerance as the CPU tiling test)
        limit = 0.0 if mode == "model_offload" else 0.1
        assert (out - reference).abs().mean() <= limit, mode
