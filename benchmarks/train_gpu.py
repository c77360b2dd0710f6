"""Trainer speed and memory: seconds per step and peak GPU memory; prints one JSON object on stdout.

On CUDA it builds the CogVideoX-5B-shaped transformer (42 layers, 48 heads × 64, input widened to 33
channels) and the 5B VAE with random bf16 weights, attaches the trainer's LoRA (attention projections;
``--train-ff`` adds the feed-forward layers) and times full optimizer steps (bf16 autocast, fp32 LoRA
weights, AdamW, gradient clipping, gradient checkpointing unless ``--no-checkpointing``) on a 49×480×720
video batch whose latents, conditioning and caption embeddings come *cached* (as the trainer's cache
serves them: no VAE or T5 in the step). The T5 encoder is not built: after caching the trainer moves it
off the GPU. Goals on an H100: ≤ 24 GB peak, ≤ 4 s per step at rank 64 and 128. It also times one
``val_loss`` evaluation of that sample (:mod:`model_runtime.training.val_loss`: 5 fixed timesteps, no
backward pass), the cost of one validation clip every ``val_loss_every`` steps.

``--tiny`` runs the same step on the tiny seeded model on the CPU (what a machine without a GPU checks).
Usage: ``python benchmarks/train_gpu.py [--tiny] [--ranks 64,128] [--steps 5] [--no-checkpointing]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from vivid_gpu import FULL_TRANSFORMER  # the 5B shape, shared with the engine's benchmark

from model_runtime.training.loop import lr_factor, train_step
from model_runtime.training.model import TrainModel, attach_lora
from model_runtime.training.sampler import Batch
from model_runtime.training.val_loss import ValUnit, validation_loss
from model_runtime.vivid.pipeline import VividPipeline
from model_runtime.vivid.tiny import SCHEDULER_CONFIG
from vivid_desktop.protocol.jobs import TrainRequest


def build(tiny: bool, device: torch.device, dtype: torch.dtype) -> tuple[VividPipeline, dict[str, int]]:
    """A pipeline without text encoder (captions are cached) and the shape of a video sample."""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDPMScheduler, CogVideoXTransformer3DModel

    if tiny:
        from model_runtime.vivid.tiny import tiny_components

        parts = tiny_components(0)
        pipe = VividPipeline(None, None, parts.vae, parts.transformer, parts.scheduler)
        return pipe.to(device), {"frames": 5, "height": 32, "width": 32, "text": (16, 32)}  # type: ignore[dict-item]
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):  # random init straight on the GPU
            transformer = CogVideoXTransformer3DModel(**FULL_TRANSFORMER)
            vae = AutoencoderKLCogVideoX(scaling_factor=0.7)
    finally:
        torch.set_default_dtype(previous)
    pipe = VividPipeline(None, None, vae, transformer, CogVideoXDPMScheduler(**SCHEDULER_CONFIG))
    return pipe, {"frames": 49, "height": 480, "width": 720, "text": (226, 4096)}  # type: ignore[dict-item]


def cached_batch(pipe: VividPipeline, shape: dict, device: torch.device, dtype: torch.dtype) -> Batch:
    """What the cache serves for one video sample: target latents, conditioning, caption embeddings."""
    g = torch.Generator().manual_seed(0)
    channels = int(pipe.vae.config.latent_channels)
    lf = (shape["frames"] - 1) // 4 + 1
    h, w = shape["height"] // 8, shape["width"] // 8
    target = torch.randn(1, lf, channels, h, w, generator=g)
    cond = torch.randn(1, lf, channels + 1, h, w, generator=g)
    cond[:, :, 0] = (cond[:, :, 0] > 0).float()
    text = torch.randn(1, *shape["text"], generator=g)
    return Batch(*(t.to(device, dtype) for t in (target, cond, text)), names=["bench"], variants=["original"])


def measure(tiny: bool, rank: int, steps: int, warmup: int, checkpointing: bool, train_ff: bool) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() and not tiny else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    pipe, shape = build(tiny, device, dtype)
    pipe.transformer.requires_grad_(False)
    pipe.vae.requires_grad_(False)
    request = TrainRequest(
        data=str(Path.cwd()), model=".", output=str(Path.cwd() / "bench.safetensors"), rank=rank,
        steps=warmup + steps, train_ff=train_ff, gradient_checkpointing=checkpointing, warmup_steps=1,
    )  # fmt: skip
    model = TrainModel(pipe, Path("."), Path("."), device, dtype, False, "", "")
    params = attach_lora(pipe.transformer, request, train_embed=False)
    optimizer = torch.optim.AdamW(list(params.values()), lr=request.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: lr_factor(request, i))
    batch = cached_batch(pipe, shape, device, dtype)
    rotary = pipe._rotary(shape["height"], shape["width"], batch.target.shape[1], device)
    pipe.transformer.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times, cpu = [], []
    for step in range(warmup + steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        gen = torch.Generator().manual_seed(step)
        loss, _ = train_step(pipe.transformer, model, batch, gen, rotary, params, optimizer, schedule, 1.0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    start, cpu_start = time.perf_counter(), time.process_time()
    val = validation_loss(model, [ValUnit(batch, 0)], (shape["height"], shape["width"]))
    if device.type == "cuda":
        torch.cuda.synchronize()
    result = {
        "rank": rank,
        "s_per_step": round(sum(times[warmup:]) / steps, 3),
        "val_loss_s_per_unit": round(time.perf_counter() - start, 3),
        "cpu_s_per_step": round(sum(cpu[warmup:]) / steps, 3),  # a shared CPU: wall time is noisy
        "val_loss_cpu_s_per_unit": round(time.process_time() - cpu_start, 3),
        "val_loss": round(val, 4),
        "first_step_s": round(times[0], 3),
        "trainable_params": sum(p.numel() for p in params.values()),
        "final_loss": round(float(loss.detach()), 4),
    }
    if device.type == "cuda":
        result["peak_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        result["peak_reserved_gb"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
    del pipe, model, params, optimizer, batch
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny seeded model on the CPU")
    parser.add_argument("--ranks", default=None, help="comma-separated LoRA ranks (default 64,128; tiny 4,8)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-checkpointing", action="store_true")
    parser.add_argument("--train-ff", action="store_true")
    args = parser.parse_args()
    ranks = [int(r) for r in (args.ranks or ("4,8" if args.tiny else "64,128")).split(",")]
    if not args.tiny and not torch.cuda.is_available():
        parser.error("no CUDA device: run with --tiny, or on a machine with a GPU")
    results = [
        measure(args.tiny, r, args.steps, args.warmup, not args.no_checkpointing, args.train_ff)
        for r in ranks
    ]
    device = (
        torch.cuda.get_device_name(0) if torch.cuda.is_available() and not args.tiny else platform.processor()
    )
    print(
        json.dumps(
            {
                "benchmark": "train_gpu",
                "model": "tiny"
                if args.tiny
                else "CogVideoX-5B shape (random bf16 weights), VIVID 33-channel input",
                "sample": "5x32x32" if args.tiny else "49x480x720 (13 latent frames, 17550 video tokens)",
                "gradient_checkpointing": not args.no_checkpointing,
                "train_ff": args.train_ff,
                "cached_latents": True,
                "device": device or platform.machine(),
                "torch": torch.__version__,
                "cpu_count": torch.get_num_threads(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
