"""Speed options change speed, not results: each is compared with the exact output on the tiny model.

Stated tolerances: our attention processor and regional compile are exact to float rounding (≤ 1e-5);
the First-Block-Cache (threshold 0.5 here, 0.1 in the fast preset) changes the decoded frames by a mean
of at most 0.05 on the [-1, 1] scale on a 2-layer tiny model; fp8 needs a GPU (refused on the CPU).
"""

from __future__ import annotations

import pytest
import torch

from model_runtime.engines.base import EngineError
from model_runtime.vivid import speed
from model_runtime.vivid.pipeline import VividPipeline
from model_runtime.vivid.tiny import tiny_components


@pytest.fixture
def pipe() -> VividPipeline:
    return VividPipeline(**tiny_components(0, num_layers=2).as_dict())


def _pass(pipe, steps: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    video = torch.rand(1, 3, 9, 32, 32, generator=gen) * 2 - 1
    mask = torch.zeros(1, 1, 9, 32, 32)
    mask[..., 8:24, 8:24] = 1
    pe, ne = pipe.encode_prompt("a red balloon"), pipe.encode_prompt("")
    return pipe(video, mask, pe, ne, steps=steps, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("kernel", ["sdpa", "math"])
def test_our_attention_processor_matches_diffusers(pipe, kernel):
    exact = _pass(pipe)
    logs: list[str] = []
    assert speed.set_attention(pipe.transformer, kernel, "cpu", logs.append) == kernel
    procs = pipe.transformer.attn_processors.values()
    assert all(isinstance(p, speed.VividAttnProcessor) and p.name == kernel for p in procs)
    assert torch.allclose(_pass(pipe), exact, atol=1e-5)


def test_a_missing_kernel_falls_back_to_sdpa_and_says_so(pipe):
    logs: list[str] = []
    for kernel in ("flash", "efficient", "sage", "fa3"):  # CUDA-only / optional packages
        assert speed.set_attention(pipe.transformer, kernel, "cpu", logs.append) == "sdpa"
    assert len(logs) == 4 and "not available" in logs[0]
    with pytest.raises(EngineError):
        speed.set_attention(pipe.transformer, "xformers", "cpu", logs.append)


def test_regional_compile_compiles_each_cogvideox_block(pipe):
    exact = _pass(pipe)
    speed.compile_blocks(pipe.transformer, backend="eager")
    assert pipe.transformer._repeated_blocks == ["CogVideoXBlock"]
    blocks = pipe.transformer.transformer_blocks
    assert all(b._compiled_call_impl is not None for b in blocks)
    assert torch.allclose(_pass(pipe), exact, atol=1e-5)


def test_first_block_cache_stays_within_the_stated_tolerance(pipe):
    exact = _pass(pipe, steps=8)
    speed.apply_cache(pipe.transformer, "first_block", threshold=0.5)
    cached = _pass(pipe, steps=8)
    diff = (cached - exact).abs().mean().item()
    assert 0 < diff <= 0.05  # the cache did skip work, and the frames stay close
    speed.apply_cache(pipe.transformer, "none")
    assert torch.equal(_pass(pipe, steps=8), exact)  # switched off: exact again


def test_fp8_and_mag_cache_refuse_clearly_where_unsupported(pipe):
    assert not speed.fp8_supported("cpu")
    with pytest.raises(EngineError, match="compute capability"):
        speed.quantize_fp8(pipe.transformer, "cpu")
    with pytest.raises(EngineError, match="mag"):
        speed.apply_cache(pipe.transformer, "mag")  # MagCache needs ratios calibrated for the model


def test_the_fast_preset_turns_the_cache_on(tiny_model):
    from model_runtime.vivid.runner import Runner, runner_key
    from model_runtime.vivid.settings import VividSettings

    settings = VividSettings.from_dict({"model": str(tiny_model), "preset": "fast", "device": "cpu"})
    assert runner_key(settings)[3] == "none"  # no fp8 on a CPU
    runner = Runner(settings, print)
    two_blocks = tiny_components(0, num_layers=2).transformer
    two_blocks.patch_embed = runner.pipe.transformer.patch_embed  # the widened input of the saved model
    runner.pipe.transformer = two_blocks  # the cache needs two or more blocks (the saved model has one)
    logs: list[str] = []
    runner.prepare(settings, logs.append)
    assert runner.pipe.transformer.is_cache_enabled and "step cache first_block" in logs[-1]
    exact = VividSettings.from_dict({"model": str(tiny_model), "device": "cpu"})
    runner.prepare(exact, logs.append)
    assert not runner.pipe.transformer.is_cache_enabled
