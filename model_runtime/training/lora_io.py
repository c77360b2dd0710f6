"""The trained LoRA on disk: diffusers/peft ``.safetensors`` that ``load_lora_weights`` reads as is.

``LORA.safetensors`` holds only ``transformer.<module>.lora_A/lora_B.weight`` keys, with two metadata
entries: ``lora_adapter_metadata`` (diffusers' own key: the peft ``LoraConfig`` fields, prefixed
``transformer.``, so rank and alpha load exactly) and ``vivid`` (our JSON: base model fingerprint, rank,
alpha, steps, targets, dataset summary, conditioning, and the patch-embedding file if there is one).

A widened patch embedding trained fully (the base model lacked the mask inputs) cannot be a LoRA of the
base's narrower layer and diffusers refuses non-LoRA keys in a LoRA file, so it goes next to it:
``LORA.patch_embed.safetensors`` with ``patch_embed.proj.weight`` / ``.bias`` in diffusers' names, and a
folder ``LORA-adapter/vivid_adapter.json`` ties base, patch embedding and LoRA together as one model the
vivid engine loads by name (:mod:`model_runtime.vivid.loading`, layout "adapter").
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

#: diffusers' metadata key for the adapter config (diffusers.loaders.lora_base.LORA_ADAPTER_METADATA_KEY)
ADAPTER_METADATA_KEY = "lora_adapter_metadata"
VIVID_METADATA_KEY = "vivid"
FORMAT_VERSION = 1
PATCH_EMBED_SUFFIX = ".patch_embed.safetensors"
ADAPTER_SUFFIX = "-adapter"
#: model_runtime.vivid.discovery.ADAPTER_FILE
ADAPTER_FILE = "vivid_adapter.json"


def patch_embed_path(lora: Path) -> Path:
    """Where the fully trained patch embedding of ``lora`` lives."""
    return lora.with_name(lora.name.removesuffix(".safetensors") + PATCH_EMBED_SUFFIX)


def adapter_config(rank: int, alpha: float, targets: list[str]) -> dict[str, Any]:
    """The ``LoraConfig`` fields diffusers rebuilds the adapter from (only ones every peft knows)."""
    return {
        "r": rank,
        "lora_alpha": alpha,
        "target_modules": sorted(targets),
        "rank_pattern": {},
        "alpha_pattern": {},
        "lora_dropout": 0.0,
        "use_dora": False,
        "lora_bias": False,
        "init_lora_weights": True,
    }


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_lora(
    path: Path,
    lora_state: dict[str, torch.Tensor],
    config: dict[str, Any],
    info: dict[str, Any],
    patch_embed: dict[str, torch.Tensor] | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write the LoRA (and its patch embedding, if any) atomically; returns ``path``.

    ``lora_state`` is peft's state dict of the transformer (``<module>.lora_A.weight`` …).
    """
    tensors = {f"transformer.{k}": v.detach().to(dtype).contiguous().cpu() for k, v in lora_state.items()}
    side = patch_embed_path(path)
    info = {**info, "format_version": FORMAT_VERSION, "patch_embed": side.name if patch_embed else None}
    metadata = {
        "format": "pt",
        ADAPTER_METADATA_KEY: json.dumps({f"transformer.{k}": v for k, v in config.items()}, sort_keys=True),
        VIVID_METADATA_KEY: json.dumps(info, sort_keys=True, default=str),
    }
    if patch_embed:
        embed = {
            f"patch_embed.proj.{k}": v.detach().to(dtype).contiguous().cpu() for k, v in patch_embed.items()
        }
        _atomic_save(embed, side, {"format": "pt", VIVID_METADATA_KEY: metadata[VIVID_METADATA_KEY]})
    else:
        side.unlink(missing_ok=True)
    _atomic_save(tensors, path, metadata)
    return path


def write_adapter(lora: Path, base: Path, conditioning: dict[str, Any], resolution: list[int]) -> Path:
    """The ``vivid_adapter.json`` folder that makes base + patch embedding + LoRA one loadable model."""
    folder = lora.with_name(lora.name.removesuffix(".safetensors") + ADAPTER_SUFFIX)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "name": lora.name.removesuffix(".safetensors"),
        "base": str(base.absolute()),
        "patch_embed": f"../{patch_embed_path(lora).name}",
        "loras": [{"path": f"../{lora.name}", "weight": 1.0}],
        "conditioning": conditioning,
        "resolution": resolution,
    }
    data = (json.dumps(meta, indent=2) + "\n").encode()
    fd, tmp = tempfile.mkstemp(prefix=".vivid_adapter.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, folder / ADAPTER_FILE)
    return folder


def read_lora_info(path: Path) -> dict[str, Any]:
    """Our metadata of a LoRA file (empty for a LoRA this trainer did not write)."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    raw = meta.get(VIVID_METADATA_KEY)
    return json.loads(raw) if raw else {}


def base_fingerprint(model_dir: Path) -> str:
    """A short, stable identity of a model folder's transformer: config plus weight-file fingerprints."""
    import hashlib

    from vivid_desktop.core.files import fingerprint

    digest = hashlib.sha256()
    folder = model_dir / "transformer" if (model_dir / "transformer").is_dir() else model_dir
    for file in sorted(folder.iterdir()):
        if file.suffix in (".json", ".safetensors"):
            digest.update(file.name.encode())
            digest.update(fingerprint(file).encode())
    return digest.hexdigest()[:16]
