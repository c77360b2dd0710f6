"""The memory-mode ladder: out-of-memory steps down and retries; frozen outputs are noticed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model_runtime.engines.base import EngineError
from model_runtime.engines.vivid import VividEngine
from model_runtime.vivid.memory import LADDER, frozen, run_with_ladder
from vivid_desktop.protocol.jobs import RenderPlan


def _oom_until(level: int):
    calls: list[str] = []

    def attempt(mode: str) -> str:
        calls.append(mode)
        if LADDER.index(mode) < level:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return f"done in {mode}"

    return attempt, calls


def test_ladder_steps_down_until_it_fits_and_reports_the_level():
    attempt, calls = _oom_until(2)
    applied, reports = [], []
    result, mode = run_with_ladder(attempt, "auto", applied.append, lambda a, b: reports.append((a, b)))
    assert (result, mode) == ("done in vae_tiling", "vae_tiling")
    assert calls == ["gpu", "model_offload", "vae_tiling"]
    assert applied == ["model_offload", "vae_tiling"]
    assert reports == [("gpu", "model_offload"), ("model_offload", "vae_tiling")]


def test_ladder_starts_at_the_requested_level_and_gives_up_at_the_bottom():
    attempt, calls = _oom_until(99)
    with pytest.raises(EngineError) as err:
        run_with_ladder(attempt, "vae_tiling", lambda m: None)
    assert err.value.code == "out_of_memory" and calls == ["vae_tiling", "sequential_offload"]
    with pytest.raises(EngineError):
        run_with_ladder(attempt, "cpu_only", lambda m: None)


def test_other_errors_are_not_memory_errors():
    def attempt(mode: str):
        raise RuntimeError("shape mismatch")

    applied: list[str] = []
    with pytest.raises(RuntimeError, match="shape"):
        run_with_ladder(attempt, "gpu", applied.append)
    assert applied == []


def test_frozen_frames_are_flagged_only_when_the_source_moves():
    rng = np.random.default_rng(0)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:12, 4:12] = 255
    moving = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(5)]
    still = [moving[0]] * 5
    assert frozen(still, [mask] * 5, moving)
    assert not frozen(moving, [mask] * 5, moving)
    assert not frozen(still, [mask] * 5, still)


def test_oom_mid_window_rolls_back_and_retries_one_level_down(make_ctx, tiny_model, clip, box_mask, tmp_path):
    def plan(out):
        return RenderPlan(
            source=str(clip),
            start=0,
            stop=17,
            mask=str(box_mask),
            task="delete",
            engine="vivid",
            seed=2,
            settings={"model": str(tiny_model), "steps": 2, "window_length": 17},
            output_dir=str(out),
        )

    reference = VividEngine()
    reference.propagate(plan(tmp_path / "ref"), make_ctx())
    engine = VividEngine()
    ctx = make_ctx()
    runner = engine._ready(engine._settings(plan(tmp_path / "x").settings), ctx)
    real = runner.pipe.decode_chunks
    failures = [1]

    def flaky(latents):
        for i, item in enumerate(real(latents)):
            if i == 1 and failures:  # after the first chunk was written
                failures.pop()
                raise torch.OutOfMemoryError("CUDA out of memory")
            yield item

    runner.pipe.decode_chunks = flaky
    engine.propagate(plan(tmp_path / "oom"), ctx)
    assert any("retrying in mode model_offload" in line for line in ctx.logs)
    assert runner.mode == "model_offload"
    announced = [f for f, _ in ctx.frames]
    assert announced.count(0) == 2  # written, rolled back, written again
    for f in range(17):
        name = f"{f:06d}.png"
        assert (tmp_path / "oom" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
