"""The ``settings`` dict of vivid jobs (``EditKeyframeRequest.settings`` / ``RenderPlan.settings``).

Every key is optional except ``model``; unknown keys are ignored (a newer GUI may send more).

=================  ==========================  =====================================================
key                default                     meaning
=================  ==========================  =====================================================
model              (required)                  model folder, adapter folder, or a cached repo id
loras              []                          paths or ``{"path", "weight", "name"}`` dicts
steps              50                          denoising steps
guidance           6.0                         classifier-free guidance scale (≤ 1 turns CFG off)
dynamic_cfg        false                       CogVideoX's cosine guidance ramp
negative_prompt    ""                          the unconditional caption
scheduler          the model's (else "dpm")    "dpm" (CogVideoXDPMScheduler) or "ddim"
resolution         the model's, else [480,720]  model frame size [height, width], multiples of 16
memory             "auto"                      auto | gpu | model_offload | vae_tiling | sequential_offload
device             "auto"                      auto (cuda if present) | cuda | cuda:N | cpu
dtype              "auto"                      auto (bf16 on cuda, fp32 on cpu) | bf16 | fp16 | fp32
compile            false                       regional torch.compile (each CogVideoXBlock)
window_length      49                          KIVE window (8k+1 frames: an odd latent count)
window_stride      window_length − 1           frames between window starts
conditioning       {}                          overrides of ConditioningConfig fields
feather            3                           feather (px) when compositing a keyframe preview
attention          "sdpa"                      attention kernel: sdpa | flash | cudnn | efficient | math |
                                               sage | fa3 (unavailable ones fall back to sdpa)
cache              "none"                      step cache: none | first_block | taylorseer | mag
cache_threshold    0.1                         First-Block-Cache threshold
quantize           "none"                      none | fp8 (torchao, GPU compute capability ≥ 8.9)
preset             "exact"                     exact | fast (first_block cache + fp8 where supported)
framing            "auto"                      crop (a box around the masks at native resolution) |
                                               letterbox (the whole frame) | auto (crop when small)
=================  ==========================  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, cast

from model_runtime.engines.base import EngineError
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.windows import check_length

DEFAULT_RESOLUTION = (480, 720)


@dataclass(frozen=True)
class VividSettings:
    """Validated vivid job settings (see the module docstring for the keys)."""

    model: str
    loras: list[object] = field(default_factory=list)
    steps: int = 50
    guidance: float = 6.0
    dynamic_cfg: bool = False
    negative_prompt: str = ""
    scheduler: str | None = None
    resolution: tuple[int, int] | None = None
    memory: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    compile: bool = False
    window_length: int = 49
    window_stride: int | None = None  # None: window_length - 1 (one known frame of overlap)
    conditioning: dict[str, object] = field(default_factory=dict)
    feather: int = 3
    framing: str = "auto"
    attention: str = "sdpa"
    cache: str = "none"
    cache_threshold: float = 0.1
    quantize: str = "none"
    preset: str = "exact"

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> VividSettings:
        if not data.get("model"):
            raise EngineError(
                ErrorCode.NO_MODEL, "No VIVID model chosen: add a model folder in the model manager."
            )
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known and v is not None}
        coerce = {
            "model": str,
            "steps": int,
            "guidance": float,
            "window_length": int,
            "window_stride": int,
            "feather": int,
            "dynamic_cfg": bool,
            "compile": bool,
            "memory": str,
            "device": str,
            "framing": str,
            "attention": str,
            "cache": str,
            "cache_threshold": float,
            "quantize": str,
            "preset": str,
        }
        try:
            for name, conv in coerce.items():
                if name in kw:
                    kw[name] = conv(kw[name])
            if "resolution" in kw:  # anything but a sequence of numbers raises, reported below
                kw["resolution"] = tuple(int(v) for v in cast(Any, kw["resolution"]))
            s = cls(**kw)  # type: ignore[arg-type]
            if s.window_stride is None:
                s = cls(**{**kw, "window_stride": max(1, s.window_length - 1)})  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise EngineError(ErrorCode.BAD_SETTINGS, f"invalid vivid settings: {exc}") from None
        s.validate()
        return s

    @property
    def stride(self) -> int:
        """``window_stride`` as used (``from_dict`` fills it in; None would mean ``window_length - 1``)."""
        return self.window_stride if self.window_stride is not None else max(1, self.window_length - 1)

    def validate(self) -> None:
        def bad(msg: str) -> EngineError:
            return EngineError(ErrorCode.BAD_SETTINGS, msg)

        if self.steps < 1:
            raise bad(f"steps must be at least 1, got {self.steps}")
        res = self.resolution
        if res is not None and (len(res) != 2 or any(v < 16 or v % 16 for v in res)):
            raise bad(f"resolution must be [height, width] in multiples of 16, got {list(res)}")
        try:
            check_length(self.window_length)
        except ValueError as exc:
            raise bad(f"window_length: {exc}") from None
        if self.window_stride is None or not 1 <= self.window_stride <= max(1, self.window_length - 1):
            raise bad(f"window_stride must be in [1, {self.window_length - 1}], got {self.window_stride}")
        if self.dtype not in ("auto", "bf16", "fp16", "fp32"):
            raise bad(f"dtype must be auto, bf16, fp16 or fp32, got {self.dtype!r}")
        choices = {
            "attention": ("sdpa", "flash", "cudnn", "efficient", "math", "sage", "fa3"),
            "cache": ("none", "first_block", "taylorseer", "mag"),
            "quantize": ("none", "fp8"),
            "preset": ("exact", "fast"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise bad(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.framing not in ("auto", "crop", "letterbox"):
            raise bad(f"framing must be auto, crop or letterbox, got {self.framing!r}")
        if self.scheduler not in (None, "dpm", "ddim"):
            raise bad(f"scheduler must be dpm or ddim, got {self.scheduler!r}")
