"""VIVID engine speed and memory: prints one JSON object on stdout.

On CUDA it builds the full-size CogVideoX-5B-shaped model (42 layers, 48 heads × 64, T5-XXL, the 5B VAE,
input widened to 33 channels) with random bf16 weights — speed does not need trained weights — and
measures: seconds per denoising step with and without classifier-free guidance, with and without
``torch.compile``; image-mode (one frame) latency; VAE decode time per chunk and for 49 frames; the time
from the last step to the first decoded frames; T5 encode time; peak GPU memory per memory mode.
Each speed option (attention kernels, step caches, fp8, the fast preset with its PSNR against the exact
output, regional compile) is measured at the same shape. ``--tiny`` runs the same measurements on the
tiny seeded model (CPU is fine); that is what a machine
without a GPU can check. Usage: ``python benchmarks/vivid_gpu.py [--tiny] [--steps 5] [--no-compile]``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import torch

from model_runtime.vivid import speed
from model_runtime.vivid.memory import LADDER, apply_memory_mode
from model_runtime.vivid.pipeline import VividPipeline

FULL_TRANSFORMER = dict(
    num_attention_heads=48,
    attention_head_dim=64,
    in_channels=33,
    out_channels=16,
    time_embed_dim=512,
    text_embed_dim=4096,
    num_layers=42,
    sample_width=90,
    sample_height=60,
    sample_frames=49,
    patch_size=2,
    temporal_compression_ratio=4,
    max_text_seq_length=226,
    use_rotary_positional_embeddings=True,
    use_learned_positional_embeddings=False,
)
T5_XXL = dict(
    vocab_size=32128,
    d_model=4096,
    d_kv=64,
    d_ff=10240,
    num_layers=24,
    num_heads=64,
    feed_forward_proj="gated-gelu",
    relative_attention_num_buckets=32,
)


def build(tiny: bool, device: str, dtype: torch.dtype) -> tuple[VividPipeline, dict]:
    """The pipeline and the job shape (frames, height, width) to measure."""
    if tiny:
        from model_runtime.vivid.tiny import tiny_components

        pipe = VividPipeline(**tiny_components(0).as_dict()).to(device)
        if dtype != torch.float32:
            pipe.to(dtype=dtype)
        return pipe, {"frames": 49, "height": 32, "width": 32}
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDPMScheduler, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel

    from model_runtime.vivid.tiny import SCHEDULER_CONFIG, tiny_tokenizer

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):  # random init straight on the GPU: no 20 GB round trip through RAM
            transformer = CogVideoXTransformer3DModel(**FULL_TRANSFORMER).eval()
            vae = AutoencoderKLCogVideoX(scaling_factor=0.7).eval()
            text_encoder = T5EncoderModel(T5Config(**T5_XXL)).eval()
    finally:
        torch.set_default_dtype(previous)
    tokenizer = tiny_tokenizer(226)  # tokenisation time is negligible; the encoder is what costs
    pipe = VividPipeline(tokenizer, text_encoder, vae, transformer, CogVideoXDPMScheduler(**SCHEDULER_CONFIG))
    return pipe, {"frames": 49, "height": 480, "width": 720}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def inputs(pipe: VividPipeline, shape: dict, frames: int, device: str):
    gen = torch.Generator("cpu").manual_seed(0)
    video = torch.rand(1, 3, frames, shape["height"], shape["width"], generator=gen) * 2 - 1
    mask = torch.zeros(1, 1, frames, shape["height"], shape["width"])
    mask[
        ..., shape["height"] // 4 : shape["height"] * 3 // 4, shape["width"] // 4 : shape["width"] * 3 // 4
    ] = 1
    pe = pipe.encode_prompt("a red balloon floating over the street")
    ne = pipe.encode_prompt("")
    return video, mask, pe, ne


def per_step(pipe, shape, device, steps: int, guidance: float) -> float:
    """Seconds per denoising step (a warm-up step first; the scheduler is included, it is negligible)."""
    video, mask, pe, ne = inputs(pipe, shape, shape["frames"], device)
    cond = pipe.condition(video, mask)
    kw = dict(num_frames=shape["frames"], height=shape["height"], width=shape["width"], guidance=guidance)
    pipe.denoise(cond, pe, ne, steps=1, **kw)
    return timed(lambda: pipe.denoise(cond, pe, ne, steps=steps, **kw), device) / steps


def decode_times(pipe, shape, device) -> dict:
    """VAE decode: each chunk (9 frames, then 8) and the whole 49 frames; time to the first chunk."""
    lat = torch.randn(1, 13, pipe.vae.config.latent_channels, shape["height"] // 8, shape["width"] // 8)
    lat = lat.to(device, pipe.transformer.dtype)
    for _ in pipe.decode_chunks(lat[:, :1]):  # warm-up
        pass
    chunks: list[float] = []
    sync(device)
    t0 = last = time.perf_counter()
    for _first, _frames in pipe.decode_chunks(lat):
        sync(device)
        now = time.perf_counter()
        chunks.append(now - last)
        last = now
    return {
        "chunk_s": [round(c, 4) for c in chunks],
        "first_frames_s": round(chunks[0], 4),
        "all_49_frames_s": round(last - t0, 4),
    }


def image_mode(pipe, shape, device, steps: int) -> float:
    video, mask, pe, ne = inputs(pipe, shape, 1, device)
    pipe(video, mask, pe, ne, steps=1)  # warm-up
    return timed(lambda: pipe(video, mask, pe, ne, steps=steps), device)


def peak_memory(pipe, shape, device) -> dict:
    """Peak GPU memory (GB) of one short CFG window (2 steps + full decode) in each memory mode."""
    out: dict[str, object] = {}
    for mode in LADDER:
        try:
            apply_memory_mode(pipe, mode, device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            video, mask, pe, ne = inputs(pipe, shape, shape["frames"], device)
            pipe(video, mask, pe, ne, steps=2)
            out[mode] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
        except torch.OutOfMemoryError:
            out[mode] = "out of memory"
    apply_memory_mode(pipe, "gpu", device)
    return out


def speed_options(pipe, shape, device, steps: int) -> dict:
    """Seconds per CFG step with each speed option (model_runtime/vivid/speed.py), one at a time, and
    the fast preset's PSNR against the exact output on the same seed (full decode, ``steps`` steps)."""
    out: dict[str, object] = {}
    log = lambda _m: None  # noqa: E731
    for kernel in speed.available_attention(device):
        speed.set_attention(pipe.transformer, kernel, device, log)
        try:
            out[f"attention_{kernel}_step_s"] = round(per_step(pipe, shape, device, steps, 6.0), 4)
        except RuntimeError as exc:  # a kernel that refuses this shape or dtype
            out[f"attention_{kernel}_step_s"] = f"failed: {str(exc).splitlines()[0][:80]}"
    speed.set_attention(pipe.transformer, "sdpa", device, log)
    video, mask, pe, ne = inputs(pipe, shape, shape["frames"], device)

    def window() -> torch.Tensor:
        return pipe(video, mask, pe, ne, steps=steps, generator=torch.Generator().manual_seed(0)).float()

    exact = window()
    for cache in ("first_block", "taylorseer"):
        try:
            speed.apply_cache(pipe.transformer, cache)
        except Exception as exc:  # report what this diffusers cannot do
            out[f"cache_{cache}"] = f"unavailable: {exc}"
            continue
        t = timed(window, device)
        out[f"cache_{cache}"] = {"window_s": round(t, 2), "psnr_db": psnr(window(), exact)}
        speed.apply_cache(pipe.transformer, "none")
    if speed.fp8_supported(device):
        speed.quantize_fp8(pipe.transformer, device)
        out["fp8_step_s"] = round(per_step(pipe, shape, device, steps, 6.0), 4)
        speed.apply_cache(pipe.transformer, "first_block")
        t = timed(window, device)
        out["fast_preset"] = {"window_s": round(t, 2), "psnr_db": psnr(window(), exact)}
    else:
        out["fp8"] = "unsupported here (torchao and compute capability >= 8.9 needed)"
    return out


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) / 2).pow(2).mean())  # frames in [-1, 1] → [0, 1]
    return round(10 * math.log10(1 / mse), 2) if mse > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="the tiny seeded model (any device)")
    ap.add_argument("--steps", type=int, default=5, help="steps per timing run")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--no-options", action="store_true", help="skip attention kernels, caches and fp8")
    ap.add_argument("--window-steps", type=int, default=50, help="steps of the estimated full window")
    args = ap.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.tiny:
        print("no CUDA device: running the tiny model (--tiny)", file=sys.stderr)
        args.tiny = True
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    t0 = time.perf_counter()
    pipe, shape = build(args.tiny, device, dtype)
    pipe.set_progress_bar_config(disable=True)
    res: dict[str, object] = {"build_s": round(time.perf_counter() - t0, 2)}
    res["t5_encode_s"] = round(
        timed(lambda: pipe.encode_prompt("a red balloon floating over a street"), device), 4
    )
    res["step_s_cfg"] = round(per_step(pipe, shape, device, args.steps, 6.0), 4)
    res["step_s_no_cfg"] = round(per_step(pipe, shape, device, args.steps, 1.0), 4)
    res["image_mode_s"] = round(image_mode(pipe, shape, device, args.window_steps), 4)
    res["vae_decode"] = decode_times(pipe, shape, device)
    res["window_estimate_s"] = round(
        args.window_steps * res["step_s_cfg"] + res["vae_decode"]["all_49_frames_s"],
        2,  # type: ignore[index]
    )
    if device == "cuda":
        res["peak_memory_gb"] = peak_memory(pipe, shape, device)
    if not args.no_options:  # before compiling: fp8 and caches change the graph
        res["speed_options"] = speed_options(pipe, shape, device, args.steps)
    if not args.no_compile:
        speed.compile_blocks(pipe.transformer)  # regional: each CogVideoXBlock
        t0 = time.perf_counter()
        per_step(pipe, shape, device, 1, 6.0)  # compile
        res["compile_s"] = round(time.perf_counter() - t0, 1)
        res["step_s_cfg_compiled"] = round(per_step(pipe, shape, device, args.steps, 6.0), 4)
    report = {
        "benchmark": "vivid_gpu",
        "model": "tiny" if args.tiny else "cogvideox-5b-shaped (random weights)",
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "shape": shape,
        "steps_timed": args.steps,
        "results": res,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
