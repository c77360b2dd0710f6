"""LoRA adapters on the VIVID transformer: peft through diffusers' loader, several at once with weights.

A LoRA is a ``.safetensors`` file in the diffusers/peft format (what ``save_lora_weights`` writes and the
trainer produces) or a folder holding ``pytorch_lora_weights.safetensors``. Default targets (trainer and
docs): the attention projections ``to_q, to_k, to_v, to_out.0`` of every block. ``unload_loras``
restores the base weights exactly (peft keeps them untouched; nothing is fused).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from model_runtime.engines.base import EngineError
from vivid_desktop.protocol.errors import ErrorCode

DEFAULT_FILE = "pytorch_lora_weights.safetensors"
DEFAULT_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
_PICKLE = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


@dataclass(frozen=True)
class LoraSpec:
    """One adapter: file, strength, and the adapter name it gets on the model."""

    path: str
    weight: float = 1.0
    name: str = ""


def parse_loras(value: object, base_dir: str | Path | None = None) -> list[LoraSpec]:
    """Read the ``loras`` setting: paths, or ``{"path", "weight", "name"}`` dicts."""
    if value in (None, ""):
        return []
    items = value if isinstance(value, list | tuple) else [value]
    out: list[LoraSpec] = []
    for i, item in enumerate(items):
        if isinstance(item, str | Path):
            path, weight, name = str(item), 1.0, ""
        elif isinstance(item, dict) and "path" in item:
            path, weight, name = str(item["path"]), float(item.get("weight", 1.0)), str(item.get("name", ""))
        else:
            raise EngineError(
                ErrorCode.BAD_SETTINGS, f"a LoRA must be a path or {{'path', 'weight'}}, got {item!r}"
            )
        p = Path(path).expanduser()
        if base_dir is not None and not p.is_absolute():
            p = Path(base_dir) / p
        name = name or re.sub(r"[^A-Za-z0-9_]", "_", p.stem) + f"_{i}"
        out.append(LoraSpec(str(p), weight, name))
    return out


def _weight_file(spec: LoraSpec) -> Path:
    p = Path(spec.path)
    if p.is_dir():
        p = p / DEFAULT_FILE
    if p.suffix.lower() in _PICKLE:
        raise EngineError(
            ErrorCode.PICKLE_REFUSED, f"{p.name} is a pickle file; VIVID loads LoRAs from .safetensors only"
        )
    if not p.is_file():
        raise EngineError(ErrorCode.LORA_NOT_FOUND, f"no LoRA file at {p}")
    if p.suffix.lower() != ".safetensors":
        raise EngineError(ErrorCode.LORA_INVALID, f"{p.name} is not a .safetensors file")
    from model_runtime.vivid.weights import check_safetensors

    try:
        check_safetensors(p)
    except EngineError as exc:
        raise EngineError(ErrorCode.LORA_INVALID, exc.message) from None
    return p


def apply_loras(pipe, specs: list[LoraSpec], log=print) -> None:
    """Make exactly ``specs`` active on ``pipe`` (loads new files, re-weights, or unloads as needed)."""
    current: tuple[LoraSpec, ...] = getattr(pipe, "_vivid_loras", ())
    if tuple(specs) == current:
        return
    same_files = [(s.path, s.name) for s in specs] == [(s.path, s.name) for s in current]
    if not same_files:
        unload_loras(pipe)
        for spec in specs:
            f = _weight_file(spec)
            try:
                with warnings.catch_warnings():  # peft warns on every adapter after the first; expected here
                    warnings.filterwarnings("ignore", message=".*multiple adapters.*")
                    pipe.load_lora_weights(str(f.parent), weight_name=f.name, adapter_name=spec.name)
            except (ValueError, KeyError, RuntimeError) as exc:
                unload_loras(pipe)
                raise EngineError(ErrorCode.LORA_INVALID, f"could not load LoRA {f.name}: {exc}") from None
            log(f"LoRA {f.name} loaded (weight {spec.weight:g})")
    if specs:
        pipe.set_adapters([s.name for s in specs], [s.weight for s in specs])
    pipe._vivid_loras = tuple(specs)


def unload_loras(pipe) -> None:
    """Remove every LoRA; the transformer computes exactly what it did before loading."""
    if getattr(pipe, "_vivid_loras", ()):
        pipe.unload_lora_weights()
    pipe._vivid_loras = ()
