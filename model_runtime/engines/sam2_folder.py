"""What a learned mask model folder is, read from its JSON files only (no torch: discovery uses it).

A SAM 2.1 model is a folder in transformers' format — ``config.json`` whose ``model_type`` is
``sam2_video`` and one or more ``*.safetensors`` files — e.g. a copy of ``facebook/sam2.1-hiera-tiny``.
Folders holding only pickled weights (``.pt``, ``.pth``, ``.bin``, ``.ckpt``) are refused: unpickling a
file runs code, and a user's weights never get to do that here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from model_runtime.engines.base import EngineError
from vivid_desktop.protocol.errors import ErrorCode

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")

#: model_type in config.json → (what the editor calls it, its licence, whether this runtime can run it)
KINDS: dict[str, tuple[str, str, bool]] = {
    "sam2_video": ("SAM 2.1", "Apache-2.0", True),
    # EdgeTAM's transformers port builds its RepViT backbone through timm (which needs torchvision, not
    # in our lock): listed so the user learns why it does not run, never loaded.
    "edgetam_video": ("EdgeTAM", "Apache-2.0", False),
}


@dataclass(frozen=True)
class MaskModelFolder:
    """A checked learned-mask model folder."""

    path: Path
    model_type: str
    title: str
    licence: str
    image_size: int
    weights: tuple[str, ...]


def read_config(root: Path) -> dict:
    try:
        data = json.loads((root / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def inspect_mask_folder(path: str | Path) -> MaskModelFolder | None:
    """The folder's model if it is a SAM 2 / EdgeTAM folder in transformers' format, else ``None``."""
    root = Path(path)
    config = read_config(root)
    kind = KINDS.get(str(config.get("model_type")))
    if kind is None:
        return None
    try:
        size = int(config.get("image_size") or 1024)
    except (TypeError, ValueError):
        return None
    weights = tuple(sorted(p.name for p in root.glob("*.safetensors")))
    return MaskModelFolder(root, str(config["model_type"]), kind[0], kind[1], size, weights)


def check_mask_folder(spec: str | Path) -> MaskModelFolder:
    """Resolve ``spec`` and check it is a folder this runtime can load; one-line :class:`EngineError`."""
    text = str(spec).strip()
    if not text:
        raise EngineError(ErrorCode.NO_MODEL, "No SAM 2 model folder given.")
    root = Path(text).expanduser().resolve()
    if not root.is_dir():
        raise EngineError(ErrorCode.MODEL_NOT_FOUND, f"SAM 2 model folder not found: {root}")
    if not (root / "config.json").is_file():
        raise EngineError(
            ErrorCode.MODEL_INVALID,
            f"{root} has no config.json: give a SAM 2.1 folder in transformers' format "
            "(config.json + model.safetensors, e.g. facebook/sam2.1-hiera-tiny)",
        )
    found = inspect_mask_folder(root)
    if found is None:
        model_type = read_config(root).get("model_type")
        raise EngineError(
            ErrorCode.UNSUPPORTED_MODEL,
            f"{root} holds a {model_type!r} model, not a SAM 2.1 video model (model_type 'sam2_video')",
        )
    if not found.weights:
        pickles = sorted(p.name for p in root.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise EngineError(
                ErrorCode.PICKLE_REFUSED,
                f"{root} has only pickled weights ({', '.join(pickles)}), which are never loaded: "
                "use the .safetensors release of the model",
            )
        raise EngineError(ErrorCode.MODEL_INVALID, f"{root} has no .safetensors weights")
    if not KINDS[found.model_type][2]:
        raise EngineError(
            ErrorCode.UNSUPPORTED_MODEL,
            f"{found.title} ({root}) needs timm and torchvision, which this runtime does not install; "
            "use a SAM 2.1 folder",
        )
    return found
