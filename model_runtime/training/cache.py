"""Precomputed latents and text embeddings, cached on disk and keyed by content.

Each unit (:mod:`.units`) is encoded once into ``<cache>/latents/<key>.safetensors``:

* ``target``: VAE latents of the original pixels ``(Lf, C, h, w)`` (the training target);
* ``cond.<variant>``: the conditioning (mask channel + masked-video latents, ``(Lf, 1 + C, h, w)``) for
  each mask augmentation (``original``, ``expand`` … ``box_expand``, radii drawn once per unit) and each
  deletion variant (``delete0``, ``delete1``: a silhouette moved along the flow). In a ``kive`` run a
  video unit's conditioning has its first frame known (the clip's own, mask 0 there), built by the
  engine's :func:`~model_runtime.vivid.frames.kive_inputs`.

Captions go to ``<cache>/text/<key>.safetensors`` (``embeds``: ``(L, D)``). A key hashes everything the
tensors depend on: the bytes of the unit's files, the frame range, the training size, the encoders'
identity and this format's version, so a changed sample is recomputed and an unchanged one is not.
File digests are remembered per (path, size, mtime) so unchanged files are not hashed twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, cast

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from model_runtime.training.augment import AUGMENTATIONS, augment_mask, expand_radius
from model_runtime.training.deletion import deletion_masks, entity_shapes
from model_runtime.training.units import Unit, unit_pixels
from model_runtime.vivid.frames import kive_inputs
from vivid_desktop.protocol.jobs import DELETE_CAPTION

CACHE_VERSION = 1
DELETION_VARIANTS = 2


class Encoders(Protocol):
    """What the cache needs from the model (:class:`model_runtime.training.model.TrainModel`)."""

    #: identity of the VAE, text encoder, conditioning settings and storage dtype
    encoders_fingerprint: str

    def encode_target(self, frames: np.ndarray) -> torch.Tensor: ...

    def encode_conditions(self, frames: np.ndarray, masks: list[np.ndarray]) -> list[torch.Tensor]: ...

    def encode_text(self, caption: str) -> torch.Tensor: ...


@dataclass(frozen=True)
class CachedUnit:
    """One cached unit: which file, which variants, which caption embedding."""

    name: str
    path: Path
    kind: Literal["video", "image"]
    augment: tuple[str, ...]
    deletion: tuple[str, ...]
    text: Path
    delete_text: Path


@dataclass
class CacheStats:
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


class FileDigests:
    """sha256 of files, remembered by (path, size, mtime) in ``digests.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._memo: dict[str, list] = json.loads(path.read_text())
        except (OSError, ValueError):
            self._memo = {}

    def digest(self, file: Path) -> str:
        if file.is_dir():
            h = hashlib.sha256()
            for child in sorted(p for p in file.iterdir() if p.is_file() and not p.name.startswith(".")):
                h.update(child.name.encode() + self.digest(child).encode())
            return h.hexdigest()
        st = file.stat()
        key = str(file.resolve())
        known = self._memo.get(key)
        if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
            return known[2]
        h = hashlib.sha256()
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        self._memo[key] = [st.st_size, st.st_mtime_ns, h.hexdigest()]
        return h.hexdigest()

    def save(self) -> None:
        _atomic_write(self.path, json.dumps(self._memo).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def unit_key(
    unit: Unit, digests: FileDigests, size: tuple[int, int], encoders: str, kive: bool = False
) -> str:
    spec = unit.sample.spec
    parts: dict[str, object] = {
        "v": CACHE_VERSION,
        "media": digests.digest(spec.media) if spec.target is None else None,
        "target": digests.digest(spec.target) if spec.target is not None else None,
        "mask": digests.digest(spec.mask) if spec.mask is not None else None,
        "mask_index": spec.mask_index(unit.start),
        "start": unit.start,
        "frames": unit.frames,
        "size": size,
        "delete": spec.is_delete and spec.target is None,
        "encoders": encoders,
    }
    if kive and unit.is_video:
        parts["kive"] = True  # only then: the keys of standard runs stay what they were
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def text_key(caption: str, encoders: str) -> str:
    return hashlib.sha256(json.dumps([CACHE_VERSION, caption, encoders]).encode()).hexdigest()[:32]


def variant_masks(
    unit: Unit, frames: np.ndarray, masks: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Every mask variant of a unit: the six augmentations (not for delete units) and the deletions."""
    spec = unit.sample.spec
    out: dict[str, np.ndarray] = {}
    if not (spec.is_delete and spec.target is None):
        for kind in AUGMENTATIONS:
            radius = expand_radius(masks.shape, rng) if "expand" in kind else 0
            out[kind] = augment_mask(masks, kind, radius)
    own = entity_shapes([m for m in masks[:1]])
    for i in range(DELETION_VARIANTS):
        shapes = own if own and rng.random() < 0.5 else []
        out[f"delete{i}"] = deletion_masks(frames, shapes, rng, avoid=masks)
    return out


def _save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(
            {k: v.contiguous().cpu() for k, v in tensors.items()}, tmp, metadata={"vivid": json.dumps(meta)}
        )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_meta(path: Path) -> dict[str, object] | None:
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads((f.metadata() or {})["vivid"])
    except (OSError, KeyError, ValueError, RuntimeError):
        return None  # missing or damaged: recompute


def _ensure_text(folder: Path, caption: str, encoders: Encoders) -> Path:
    path = folder / "text" / f"{text_key(caption, encoders.encoders_fingerprint)}.safetensors"
    if _read_meta(path) is None:
        _save_tensors(path, {"embeds": encoders.encode_text(caption)}, {"caption": caption})
    return path


def build_cache(
    units: list[Unit],
    folder: Path,
    encoders: Encoders,
    size: tuple[int, int],
    shard: tuple[int, int] = (0, 1),
    on_unit: Callable[[int, int, str], None] | None = None,
    kive: bool = False,
) -> tuple[list[CachedUnit], CacheStats]:
    """Encode every unit that is not cached yet; return the index of all units and what was done.

    ``shard = (rank, world)``: this process encodes units ``i`` with ``i % world == rank`` (the others
    encode the rest); the index lists every unit either way. ``on_unit(done, total, name)`` reports.
    ``kive``: video units are conditioned with their first frame known (the module docstring).
    """
    digests = FileDigests(folder / "digests.json")
    stats = CacheStats()
    index: list[CachedUnit] = []
    delete_text = _ensure_text(folder, DELETE_CAPTION, encoders)
    for i, unit in enumerate(units):
        key = unit_key(unit, digests, size, encoders.encoders_fingerprint, kive)
        path = folder / "latents" / f"{key}.safetensors"
        mine = i % shard[1] == shard[0]
        meta = _read_meta(path)
        if meta is None and mine:
            meta = _encode_unit(unit, key, path, encoders, size, kive)
            stats.computed.append(unit.name)
        elif meta is not None:
            stats.reused.append(unit.name)
        caption = unit.sample.spec.caption
        text = _ensure_text(folder, caption, encoders) if mine or caption == DELETE_CAPTION else None
        variants = list(cast("list[str]", meta["variants"])) if meta else _expected_variants(unit)
        index.append(
            CachedUnit(
                name=unit.name,
                path=path,
                kind="video" if unit.is_video else "image",
                augment=tuple(v for v in variants if not v.startswith("delete")),
                deletion=tuple(v for v in variants if v.startswith("delete")),
                text=text
                or folder / "text" / f"{text_key(caption, encoders.encoders_fingerprint)}.safetensors",
                delete_text=delete_text,
            )
        )
        if on_unit is not None:
            on_unit(i + 1, len(units), unit.name)
    if shard[0] == 0:
        digests.save()
    return index, stats


def _expected_variants(unit: Unit) -> list[str]:
    spec = unit.sample.spec
    augment = [] if (spec.is_delete and spec.target is None) else list(AUGMENTATIONS)
    return augment + [f"delete{i}" for i in range(DELETION_VARIANTS)]


def kive_masks(frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """A KIVE sample's conditioning masks: frame 0 known (its own pixels, mask 0), as the engine builds it."""
    _, out = kive_inputs(list(frames), list(masks), known=frames[0])
    return np.stack(out)


def _encode_unit(
    unit: Unit, key: str, path: Path, encoders: Encoders, size: tuple[int, int], kive: bool = False
) -> dict[str, object]:
    frames, masks = unit_pixels(unit, *size)
    # Variants depend on the content only, so a recomputed unit gets the same augmentation radii.
    rng = np.random.default_rng(int(key[:16], 16))
    tensors = {"target": encoders.encode_target(frames)}
    variants = variant_masks(unit, frames, masks, rng)
    if kive and unit.is_video:
        variants = {name: kive_masks(frames, m) for name, m in variants.items()}
    for name, cond in zip(variants, encoders.encode_conditions(frames, list(variants.values())), strict=True):
        tensors[f"cond.{name}"] = cond
    meta = {
        "unit": unit.name,
        "variants": [k[5:] for k in tensors if k.startswith("cond.")],
        "kive": kive and unit.is_video,
    }
    _save_tensors(path, tensors, meta)
    return meta


def load_unit(item: CachedUnit, variant: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(target, cond, text embeds)`` of one cached unit and variant."""
    with safe_open(str(item.path), framework="pt") as f:
        target, cond = f.get_tensor("target"), f.get_tensor(f"cond.{variant}")
    text_path = item.delete_text if variant.startswith("delete") else item.text
    with safe_open(str(text_path), framework="pt") as f:
        text = f.get_tensor("embeds")
    return target, cond, text
