"""Find VIVID-usable models and LoRAs in local folders and the Hugging Face cache (stdlib only, offline).

Kinds of model folder (``inspect_folder``):

- ``vivid``: our checkpoint — a diffusers-layout folder (``model_index.json``) with a widened
  transformer and a ``vivid.json`` that names its conditioning settings.
- ``adapter``: a folder with ``vivid_adapter.json``: a base CogVideoX folder + our widened patch
  embedding + LoRA files (what the trainer writes).
- ``fun-inp``: a CogVideoX-Fun InP folder (transformer ``in_channels = 2C + 1``, no ``vivid.json``).
- ``base``: a plain CogVideoX text-to-video folder (usable only widened with zero weights).

Nothing here imports torch, so the runtime can list models in its handshake cheaply.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vivid_desktop.models import safetensors_header, vivid_metadata

ADAPTER_FILE = "vivid_adapter.json"
VIVID_FILE = "vivid.json"
TRANSFORMER_CLASSES = {"CogVideoXTransformer3DModel"}


@dataclass(frozen=True)
class ModelEntry:
    """A model or LoRA found on disk."""

    name: str
    path: str
    kind: str  # vivid | adapter | fun-inp | base | lora
    source: str = "folder"  # folder | hf-cache
    details: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def inspect_folder(path: str | Path) -> ModelEntry | None:
    """What kind of model ``path`` holds, from its JSON files only; ``None`` if it is not one."""
    root = Path(path)
    if (root / ADAPTER_FILE).is_file():
        meta = read_json(root / ADAPTER_FILE)
        return ModelEntry(str(meta.get("name") or root.name), str(root), "adapter", details=meta)
    tconf = read_json(root / "transformer" / "config.json")
    if not (root / "model_index.json").is_file() or tconf.get("_class_name") not in TRANSFORMER_CLASSES:
        return None
    vconf = read_json(root / "vae" / "config.json")
    try:
        latent = int(vconf.get("latent_channels", 16))
        in_ch = int(tconf.get("in_channels", 16))
    except (TypeError, ValueError):
        return None  # a config.json with nonsense values: not a model we can use
    details = {"in_channels": in_ch, "latent_channels": latent, "layers": tconf.get("num_layers")}
    if (root / VIVID_FILE).is_file():
        meta = read_json(root / VIVID_FILE)
        return ModelEntry(str(meta.get("name") or root.name), str(root), "vivid", details={**details, **meta})
    if in_ch == 2 * latent + 1:
        return ModelEntry(root.name, str(root), "fun-inp", details=details)
    if in_ch == latent:
        return ModelEntry(root.name, str(root), "base", details=details)
    return None


def _inspect_safely(path: Path) -> ModelEntry | None:
    """``inspect_folder``, but one unreadable folder is skipped instead of failing the whole listing."""
    try:
        return inspect_folder(path)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def safetensors_keys(path: str | Path) -> list[str]:
    """Tensor names in a ``.safetensors`` file, read from its JSON header (no tensor data)."""
    return [k for k in safetensors_header(path) if k != "__metadata__"]


def _is_lora_header(header: dict) -> bool:
    return any(("lora_A" in k or "lora_B" in k or "lora_down" in k or "lora.down" in k) for k in header)


def lora_entry(path: str | Path) -> ModelEntry | None:
    """A LoRA file's entry, with what our trainer wrote into its header (the header is read once)."""
    p = Path(path)
    if p.suffix != ".safetensors" or not p.is_file():
        return None
    try:
        header = safetensors_header(p)
    except (OSError, ValueError, struct.error):
        return None
    return (
        ModelEntry(p.stem, str(p), "lora", details=vivid_metadata(header))
        if _is_lora_header(header)
        else None
    )


def is_lora_file(path: str | Path) -> bool:
    """A ``.safetensors`` file whose tensors are LoRA factors."""
    return lora_entry(path) is not None


def hf_cache_dirs() -> list[Path]:
    """Where the Hugging Face hub cache lives (``HF_HUB_CACHE``, ``HF_HOME``/hub, ~/.cache)."""
    if os.environ.get("HF_HUB_CACHE"):
        return [Path(os.environ["HF_HUB_CACHE"])]
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return [Path(home) / "hub"]


def _snapshot(repo_dir: Path) -> Path | None:
    ref = repo_dir / "refs" / "main"
    snaps = repo_dir / "snapshots"
    if ref.is_file():
        cand = snaps / ref.read_text().strip()
        if cand.is_dir():
            return cand
    found = sorted(snaps.iterdir(), key=lambda p: p.stat().st_mtime) if snaps.is_dir() else []
    return found[-1] if found else None


def hf_cache_models() -> list[ModelEntry]:
    """Models in the local Hugging Face cache (offline: only what is already downloaded)."""
    out: list[ModelEntry] = []
    for cache in hf_cache_dirs():
        if not cache.is_dir():
            continue
        for repo_dir in sorted(cache.glob("models--*")):
            try:
                snap = _snapshot(repo_dir)
            except OSError:
                continue
            entry = _inspect_safely(snap) if snap else None
            if entry is not None:
                repo_id = repo_dir.name[len("models--") :].replace("--", "/")
                out.append(ModelEntry(repo_id, entry.path, entry.kind, "hf-cache", entry.details))
    return out


def discover(dirs: Sequence[str | Path] = (), include_hf_cache: bool = True) -> list[ModelEntry]:
    """Models and LoRAs in ``dirs`` (each folder itself and its direct children) plus the HF cache."""
    out: list[ModelEntry] = []
    for d in dirs:
        root = Path(d)
        if not root.is_dir():
            continue
        for cand in [root, *sorted(p for p in root.iterdir())]:
            if cand.is_dir():
                entry = _inspect_safely(cand)
                if entry is not None:
                    out.append(entry)
            elif (lora := lora_entry(cand)) is not None:
                out.append(lora)
    if include_hf_cache:
        out.extend(hf_cache_models())
    return out


def resolve(spec: str | Path) -> Path:
    """A model folder for ``spec``: an existing path, or a repo id already in the HF cache."""
    p = Path(spec).expanduser()
    if p.exists():
        return p
    text = str(spec)
    if "/" in text and not text.startswith(("/", ".")):
        for cache in hf_cache_dirs():
            snap = _snapshot(cache / ("models--" + text.replace("/", "--")))
            if snap is not None:
                return snap
    raise FileNotFoundError(f"no model folder at {text!r} (and no such repo in the local Hugging Face cache)")


def model_dirs_from_env() -> list[str]:
    """Extra model folders from ``VIVID_MODEL_DIRS`` (``os.pathsep``-separated)."""
    raw = os.environ.get("VIVID_MODEL_DIRS", "")
    return [d for d in raw.split(os.pathsep) if d]
