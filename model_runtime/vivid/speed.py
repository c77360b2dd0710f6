"""Speed options for the CogVideoX transformer: attention kernels, regional compile, step caching, fp8.

diffusers' ``set_attention_backend`` and ``compile_repeated_blocks`` do not cover CogVideoX (its joint
text+video attention has its own processor; the model names no repeated block), so:

- :class:`VividAttnProcessor` is CogVideoX's joint attention (RoPE on the video tokens) with a chosen
  kernel: ``sdpa`` (PyTorch picks), ``flash`` / ``cudnn`` / ``efficient`` / ``math`` (one SDPA backend),
  ``sage`` (SageAttention) or ``fa3`` (FlashAttention 3) when installed. An unavailable kernel falls back
  to ``sdpa`` and says so.
- :func:`compile_blocks` marks ``CogVideoXBlock`` as the repeated block and compiles each block
  (regional ``torch.compile``: one compile reused 42 times, far quicker than the whole model).
- :func:`apply_cache` turns on diffusers' step-cache hooks: ``first_block`` (First-Block-Cache),
  ``taylorseer`` (TaylorSeer), ``mag`` (MagCache, needs ratios calibrated for the model), where the
  installed diffusers has them. They trade exactness for speed.
- :func:`quantize_fp8` converts the linear layers to fp8 with torchao (GPUs with compute capability ≥ 8.9).

The ``fast`` preset = ``first_block`` cache + fp8 where the GPU supports it (+ regional compile on CUDA).
Each option's effect on the output is tested on the tiny model (tests/vivid/test_speed.py).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F

from model_runtime.engines.base import EngineError
from vivid_desktop.protocol.errors import ErrorCode

ATTENTION = ("sdpa", "flash", "cudnn", "efficient", "math", "sage", "fa3")
CACHES = ("none", "first_block", "taylorseer", "mag")
#: First-Block-Cache threshold of the fast preset (relative change of the first block's residual).
FAST_THRESHOLD = 0.1
_SDPA = {
    "flash": "FLASH_ATTENTION",
    "cudnn": "CUDNN_ATTENTION",
    "efficient": "EFFICIENT_ATTENTION",
    "math": "MATH",
}

Kernel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def available_attention(device: str) -> list[str]:
    """Kernels usable on ``device`` (CUDA-only kernels and optional packages checked)."""
    cuda = str(device).startswith("cuda") and torch.cuda.is_available()
    out = ["sdpa", "math"]
    if cuda:
        out += ["efficient", "flash", "cudnn"]
        if importlib.util.find_spec("sageattention"):
            out.append("sage")
        if importlib.util.find_spec("flash_attn_interface"):
            out.append("fa3")
    return out


def _rotate(x: torch.Tensor, rotary: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """diffusers' ``apply_rotary_emb``, whose annotations are off: ``rotary`` is the ``(cos, sin)`` pair (not
    a 1-tuple) and, with ``use_real`` (the default), the result is a tensor (not a tuple)."""
    from diffusers.models.embeddings import apply_rotary_emb

    return cast(torch.Tensor, apply_rotary_emb(x, rotary))  # type: ignore[arg-type]


def _kernel(name: str) -> Kernel:
    """``q, k, v`` ``(B, H, L, D)`` → ``(B, H, L, D)`` with the named kernel."""
    if name == "sage":
        from sageattention import sageattn

        return lambda q, k, v: sageattn(q, k, v, tensor_layout="HND", is_causal=False)
    if name == "fa3":
        from flash_attn_interface import flash_attn_func

        def fa3(q, k, v):
            out = flash_attn_func(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
            return (out[0] if isinstance(out, tuple) else out).transpose(1, 2)

        return fa3
    if name in _SDPA:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        backend = getattr(SDPBackend, _SDPA[name])

        def one_backend(q, k, v):
            with sdpa_kernel(backend):
                return F.scaled_dot_product_attention(q, k, v)

        return one_backend
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v)


class VividAttnProcessor:
    """CogVideoX's joint attention (same arithmetic as diffusers' processor) with a chosen kernel."""

    def __init__(self, kernel: str = "sdpa") -> None:
        self.name = kernel
        self.kernel = _kernel(kernel)

    def __call__(
        self, attn, hidden_states, encoder_hidden_states, attention_mask=None, image_rotary_emb=None
    ):
        text = encoder_hidden_states.size(1)
        x = torch.cat([encoder_hidden_states, hidden_states], dim=1)
        b = x.shape[0]
        q, k, v = attn.to_q(x), attn.to_k(x), attn.to_v(x)
        d = k.shape[-1] // attn.heads
        q, k, v = (t.view(b, -1, attn.heads, d).transpose(1, 2) for t in (q, k, v))
        if attn.norm_q is not None:
            q = attn.norm_q(q)
        if attn.norm_k is not None:
            k = attn.norm_k(k)
        if image_rotary_emb is not None:  # rotary positions on the video tokens only
            q = torch.cat([q[:, :, :text], _rotate(q[:, :, text:], image_rotary_emb)], dim=2)
            if not attn.is_cross_attention:
                k = torch.cat([k[:, :, :text], _rotate(k[:, :, text:], image_rotary_emb)], dim=2)
        if attention_mask is not None:  # CogVideoX passes none; keep the reference path for it
            mask = attn.prepare_attention_mask(attention_mask, x.shape[1], b)
            mask = mask.view(b, attn.heads, -1, x.shape[1])
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            out = self.kernel(q, k, v)
        out = attn.to_out[1](attn.to_out[0](out.transpose(1, 2).reshape(b, -1, attn.heads * d)))
        return out[:, text:], out[:, :text]


def set_attention(transformer, kernel: str, device: str, log: Callable[[str], None]) -> str:
    """Install :class:`VividAttnProcessor` with ``kernel`` (or ``sdpa`` if it is unavailable here)."""
    if kernel not in ATTENTION:
        raise EngineError(ErrorCode.BAD_SETTINGS, f"attention must be one of {', '.join(ATTENTION)}")
    if kernel not in available_attention(device):
        log(f"attention kernel {kernel!r} is not available on {device}; using PyTorch SDPA")
        kernel = "sdpa"
    transformer.set_attn_processor(VividAttnProcessor(kernel))
    return kernel


def compile_blocks(transformer, **compile_kwargs) -> None:
    """Regional compile: ``CogVideoXBlock`` is the repeated block; each is compiled in place."""
    transformer._repeated_blocks = ["CogVideoXBlock"]
    transformer.compile_repeated_blocks(**compile_kwargs)


def cache_config(name: str, threshold: float = FAST_THRESHOLD):
    """The diffusers cache config for ``name`` (``ValueError`` when this diffusers lacks it)."""
    import diffusers.hooks as hooks

    if name == "first_block" and hasattr(hooks, "FirstBlockCacheConfig"):
        return hooks.FirstBlockCacheConfig(threshold=threshold)
    if name == "taylorseer" and hasattr(hooks, "TaylorSeerCacheConfig"):
        return hooks.TaylorSeerCacheConfig()
    if name == "mag" and hasattr(hooks, "MagCacheConfig"):
        return hooks.MagCacheConfig()  # raises without model-specific ratios
    raise ValueError(f"the installed diffusers has no {name!r} cache")


def apply_cache(transformer, name: str, threshold: float = FAST_THRESHOLD) -> bool:
    """Turn the step cache ``name`` on (``none``: off); False when this model cannot use it."""
    if getattr(transformer, "is_cache_enabled", False):
        transformer.disable_cache()
    if name == "none":
        return False
    if name == "first_block" and len(transformer.transformer_blocks) < 2:
        return False  # it decides from the first block whether to skip the others: needs two or more
    try:
        transformer.enable_cache(cache_config(name, threshold))
    except ValueError as exc:
        raise EngineError(ErrorCode.BAD_SETTINGS, f"cache {name!r}: {str(exc).splitlines()[0]}") from None
    return True


def fp8_supported(device: str) -> bool:
    cuda = str(device).startswith("cuda") and torch.cuda.is_available()
    return cuda and torch.cuda.get_device_capability() >= (8, 9) and bool(importlib.util.find_spec("torchao"))


def quantize_fp8(transformer, device: str) -> None:
    """fp8 weights and activations for the linear layers (torchao), or ``bad_settings`` saying why not."""
    if not fp8_supported(device):
        raise EngineError(
            ErrorCode.BAD_SETTINGS, "fp8 needs torchao and a CUDA GPU with compute capability 8.9 or newer"
        )
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, quantize_

    quantize_(transformer, Float8DynamicActivationFloat8WeightConfig())
