"""The on-disk flow cache: one small ``.npz`` per frame pair, never unpickled.

Flows are stored as fixed-point numbers (1/32 pixel, int16) — the engine computes with exactly these
values whether a flow was just computed or read back, so a cached run gives the same pixels as a cold
one. On disk each field is delta-coded along rows, byte-split and deflated (level 1, run-length
matching): about a fifth of float16 in a compressed ``.npz``, and several times faster to write. Files
are written atomically and read with ``np.load(allow_pickle=False)``; an unreadable or mismatched file is
treated as missing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

#: Bump when the flow computation or the file layout changes, so old caches are not reused.
CACHE_VERSION = 2

#: Fixed-point steps per pixel.
STEPS = 32
_LIMIT = 1000 * STEPS  # ±1000 px: deltas of clipped values still fit in int16


def cache_key(source: str | Path, parts: str) -> str:
    """A folder name that changes whenever the source file or the flow computation (``parts``) changes."""
    path = Path(source).resolve()
    st = path.stat()
    text = f"{path}|{st.st_size}|{st.st_mtime_ns}|{parts}|v{CACHE_VERSION}"
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def quantize(flow: np.ndarray) -> np.ndarray:
    """float flow (H, W, 2) → int16 fixed point."""
    return np.clip(np.rint(flow * STEPS), -_LIMIT, _LIMIT).astype(np.int16)


def dequantize(fixed: np.ndarray) -> np.ndarray:
    return fixed.astype(np.float32) * np.float32(1.0 / STEPS)


def _encode(fixed: np.ndarray) -> np.ndarray:
    planes = np.ascontiguousarray(fixed.transpose(2, 0, 1))
    delta = np.diff(planes, axis=2, prepend=np.int16(0)).astype(np.int16)
    split = np.ascontiguousarray(delta.view(np.uint8).reshape(-1, 2).T)  # low bytes, then high bytes
    # Run-length matching only: 12 % quicker than level 1's default and 15 % smaller on DIS flows
    # (any inflater reads it: the files are the same format).
    deflate = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS, 8, zlib.Z_RLE)
    return np.frombuffer(deflate.compress(split.tobytes()) + deflate.flush(), np.uint8)


def _decode(data: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    split = np.frombuffer(zlib.decompress(data.tobytes()), np.uint8).reshape(2, -1)
    delta = np.ascontiguousarray(split.T).view(np.int16).reshape(2, h, w)
    return np.cumsum(delta, axis=2, dtype=np.int32).astype(np.int16).transpose(1, 2, 0).copy()


class FlowCache:
    """Per-pair flow files in one folder (``{i:06d}.npz`` holds the flows between ``i`` and ``i + 1``)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, i: int) -> Path:
        return self.folder / f"{i:06d}.npz"

    def has(self, i: int) -> bool:
        return self._path(i).exists()

    def load(self, i: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """(forward, backward) int16 fixed-point fields of ``shape`` = (h, w), or None."""
        path = self._path(i)
        try:
            with np.load(path, allow_pickle=False) as data:
                if tuple(data["shape"]) != shape:
                    return None
                return _decode(data["fwd"], shape), _decode(data["bwd"], shape)
        except (OSError, ValueError, KeyError, zlib.error):
            return None

    def save(self, i: int, fwd: np.ndarray, bwd: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, shape=np.array(fwd.shape[:2]), fwd=_encode(fwd), bwd=_encode(bwd))
            os.replace(tmp, self._path(i))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
