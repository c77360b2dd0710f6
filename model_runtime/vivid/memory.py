"""Memory modes and the out-of-memory ladder (DESIGN.md §5).

The ladder, from fastest to leanest; each level keeps the savings of the ones before it:

0. ``gpu`` — every component on the GPU.
1. ``model_offload`` — diffusers' model CPU offload: one component on the GPU at a time.
2. ``vae_tiling`` — model offload + VAE tiling and slicing (decode in spatial tiles).
3. ``sequential_offload`` — submodule-by-submodule offload + VAE tiling/slicing (slowest, smallest).

A job starts at the requested level (``auto`` = ``gpu``); on out-of-memory it frees what it can, steps
one level down, retries the same unit of work (a keyframe or a window) and reports the level it used.
After a step down the produced frames are checked for being frozen copies of one another.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from model_runtime.engines.base import EngineError
from vivid_desktop.protocol.errors import ErrorCode

LADDER = ("gpu", "model_offload", "vae_tiling", "sequential_offload")
T = TypeVar("T")


def is_oom(exc: BaseException) -> bool:
    """Out-of-memory from CUDA (or a kernel library that reports it as a RuntimeError)."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def level_of(mode: str) -> int:
    if mode == "auto":
        return 0
    if mode not in LADDER:
        raise EngineError(
            ErrorCode.BAD_SETTINGS, f"unknown memory mode {mode!r}; choose auto or {', '.join(LADDER)}"
        )
    return LADDER.index(mode)


def apply_memory_mode(pipe, mode: str, device: str) -> None:
    """Put ``pipe`` in ``mode`` on ``device`` (offload modes need CUDA; on CPU only tiling applies)."""
    import torch

    level = level_of(mode)
    pipe.remove_all_hooks()
    on_cuda = str(device).startswith("cuda") and torch.cuda.is_available()
    if not on_cuda or level == 0:
        pipe.to(device)
    elif level in (1, 2):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_sequential_cpu_offload(device=device)
    if level >= 2:
        pipe.vae.enable_tiling()
        pipe.vae.enable_slicing()
    else:
        pipe.vae.disable_tiling()
        pipe.vae.disable_slicing()
    pipe._vivid_memory_mode = LADDER[level]


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_with_ladder(
    attempt: Callable[[str], T],
    start: str,
    apply: Callable[[str], None],
    on_step_down: Callable[[str, str], None] | None = None,
) -> tuple[T, str]:
    """Run ``attempt(mode)`` from level ``start`` down the ladder until it fits in memory.

    ``apply(mode)`` switches the pipeline; ``on_step_down(old, new)`` reports a change. Returns the result
    and the mode that worked. Errors other than out-of-memory pass through untouched.
    """
    level = level_of(start)
    while True:
        mode = LADDER[level]
        try:
            return attempt(mode), mode
        except Exception as exc:
            if not is_oom(exc):
                raise
            del exc
            free_memory()
            if level + 1 >= len(LADDER):
                raise EngineError(
                    ErrorCode.OUT_OF_MEMORY,
                    "Out of GPU memory even in the leanest mode (sequential offload). Lower the resolution "
                    "or the window length, or close other programs that use the GPU.",
                ) from None
            level += 1
            if on_step_down is not None:
                on_step_down(mode, LADDER[level])
            apply(LADDER[level])


def frozen(frames: list[np.ndarray], masks: list[np.ndarray], sources: list[np.ndarray]) -> bool:
    """True when generated frames are copies of one another inside the mask while the source moves.

    A broken offload or a collapsed sample shows as one image repeated; a still source legitimately
    gives near-identical frames, so that case is not flagged.
    """
    if len(frames) < 3:
        return False
    region = np.maximum.reduce([m > 127 for m in masks])
    if region.sum() < 16:
        return False
    out_motion = max(float(np.abs(f[region].astype(np.int16) - frames[0][region]).mean()) for f in frames[1:])
    src_motion = max(
        float(np.abs(s[region].astype(np.int16) - sources[0][region]).mean()) for s in sources[1:]
    )
    return out_motion < 0.5 and src_motion > 2.0
