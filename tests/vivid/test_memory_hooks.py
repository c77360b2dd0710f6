"""Memory modes run for real: accelerate's offload hooks on the CPU, VAE tiling, hooks freed after passes.

diffusers' ``enable_model_cpu_offload``/``enable_sequential_cpu_offload`` refuse a CPU device, but the
accelerate hooks they install do not: these tests install the same hooks with ``execution_device="cpu"``
and check that the VIVID pipeline (whose chunked decode bypasses ``vae.decode``) drives them and gives
exactly the all-in-memory result. ``test_memory_gpu.py`` compares every mode on a GPU (``-m gpu``).
"""

from __future__ import annotations

import torch
from accelerate import cpu_offload, cpu_offload_with_hook

from model_runtime.vivid.loading import load_model
from model_runtime.vivid.memory import apply_memory_mode


def _pass(pipe, frames: int = 9, size: int = 32) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    video = torch.rand(1, 3, frames, size, size, generator=gen) * 2 - 1
    mask = torch.zeros(1, 1, frames, size, size)
    mask[..., 8:24, 8:24] = 1
    pe, ne = pipe.encode_prompt("a red balloon"), pipe.encode_prompt("")
    return pipe(video, mask, pe, ne, steps=2, generator=torch.Generator().manual_seed(1))


def test_model_offload_hooks_drive_the_chunked_decode(tiny_model):
    pipe = load_model(tiny_model).pipe
    expected = _pass(pipe)
    hook = None
    for name in pipe.model_cpu_offload_seq.split("->"):  # the chain diffusers builds
        _, hook = cpu_offload_with_hook(getattr(pipe, name), "cpu", prev_module_hook=hook)
    vae_hook = pipe.vae._hf_hook
    calls = []
    original = vae_hook.pre_forward
    vae_hook.pre_forward = lambda module, *a, **k: calls.append(module) or original(module, *a, **k)
    got = _pass(pipe)
    assert torch.equal(got, expected)
    assert pipe.vae in calls  # decode_chunks moved the VAE like vae.decode would have


def test_sequential_offload_hooks_give_the_same_frames(tiny_model):
    pipe = load_model(tiny_model).pipe
    expected = _pass(pipe)
    for name in ("text_encoder", "transformer", "vae"):
        cpu_offload(getattr(pipe, name), execution_device=torch.device("cpu"))
    assert any(p.is_meta for p in pipe.transformer.parameters())  # weights really live in the offload map
    assert torch.equal(_pass(pipe), expected)


def test_vae_tiling_mode_tiles_on_the_cpu_and_stays_close(tiny_model):
    pipe = load_model(tiny_model).pipe
    latents = torch.randn(1, 3, 4, 8, 8, generator=torch.Generator().manual_seed(0))  # 9 frames, 64×64
    with torch.no_grad():
        plain = torch.cat([c for _, c in pipe.decode_chunks(latents)], dim=2)
        apply_memory_mode(pipe, "vae_tiling", "cpu")
        assert pipe.vae.use_tiling and pipe._vivid_memory_mode == "vae_tiling"
        # the default tile (half the VAE's sample size: 16 px) is too small for the tiny VAE's convolutions
        pipe.vae.enable_tiling(32, 32, 0.25, 0.25)
        chunks = list(pipe.decode_chunks(latents))
        assert len(chunks) == 1 and chunks[0][1].shape == plain.shape  # the tiled decoder ran once
        # tiles are blended at their seams, so a random tiny VAE differs a little there (stated tolerance)
        assert 0 < (chunks[0][1] - plain).abs().mean() < 0.1
        apply_memory_mode(pipe, "gpu", "cpu")
        assert not pipe.vae.use_tiling
        assert torch.equal(torch.cat([c for _, c in pipe.decode_chunks(latents)], dim=2), plain)


def test_the_runner_frees_model_hooks_after_every_pass(tiny_model, monkeypatch):
    from model_runtime.vivid.runner import Runner
    from model_runtime.vivid.settings import VividSettings

    settings = VividSettings.from_dict({"model": str(tiny_model), "steps": 1})
    runner = Runner(settings, print)
    runner.prepare(settings, print)
    freed = []
    monkeypatch.setattr(runner.pipe, "maybe_free_model_hooks", lambda: freed.append(1))
    frame = [torch.zeros(32, 32, 3, dtype=torch.uint8).numpy()]
    for seed in (1, 2):
        runner.generate(
            frame,
            [frame[0][..., 0]],
            caption="x",
            seed=seed,
            settings=settings,
            on_step=lambda *a: None,
            on_chunk=lambda *a: None,
            on_retry=lambda: None,
            log=print,
        )
    assert freed == [1, 1]
