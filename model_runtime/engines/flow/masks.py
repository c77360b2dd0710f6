"""The masks of a job: per-frame files, one mask for every frame, or masks tracked from keyframes."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from model_runtime.engines.base import EngineError
from model_runtime.engines.flow.frames import read_mask

_FRAME_FILE = re.compile(r"^(\d+)\.png$")


class MaskSequence:
    """``masks(t)`` → uint8 (H, W) mask of frame ``t`` (255 = edit), read lazily and kept a little while."""

    def __init__(self, load: Callable[[int], np.ndarray], keep: int = 16) -> None:
        self._load = load
        self._keep = keep
        self._recent: OrderedDict[int, np.ndarray] = OrderedDict()

    def __call__(self, t: int) -> np.ndarray:
        if t in self._recent:
            self._recent.move_to_end(t)
            return self._recent[t]
        mask = self._load(t)
        self._recent[t] = mask
        if len(self._recent) > self._keep:
            self._recent.popitem(last=False)
        return mask

    @classmethod
    def single(cls, path: str | Path, size: tuple[int, int]) -> MaskSequence:
        """One mask for every frame."""
        mask = read_mask(path, size)
        return cls(lambda t: mask)

    @classmethod
    def folder(cls, folder: str | Path, size: tuple[int, int]) -> MaskSequence:
        """Per-frame ``{frame:06d}.png`` files; a frame without a file uses the nearest one."""
        folder = Path(folder)
        if not folder.is_dir():
            raise EngineError("mask_missing", f"The mask folder {folder} does not exist.")
        files = {
            int(m.group(1)): folder / m.group(0) for p in folder.iterdir() if (m := _FRAME_FILE.match(p.name))
        }
        if not files:
            raise EngineError(
                "mask_missing", f"The mask folder {folder} holds no per-frame PNG masks (000000.png …)."
            )
        frames = sorted(files)
        read_mask(files[frames[0]], size)  # a wrong size is reported before any work starts

        def load(t: int) -> np.ndarray:
            i = bisect_left(frames, t)
            nearest = min(frames[max(0, i - 1) : i + 1], key=lambda f: (abs(f - t), f))
            return read_mask(files[nearest], size)

        return cls(load)

    @classmethod
    def encoded(cls, masks: dict[int, bytes]) -> MaskSequence:
        """Masks kept in memory as PNG bytes (tracked masks)."""
        return cls(lambda t: cv2.imdecode(np.frombuffer(masks[t], np.uint8), cv2.IMREAD_GRAYSCALE))


def grow(region: np.ndarray, pixels: int) -> np.ndarray:
    """A boolean region grown by ``pixels`` (disc)."""
    if pixels <= 0 or not region.any():
        return region
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(region.astype(np.uint8), kernel) > 0


def edit_region(mask: np.ndarray, dilate: int) -> np.ndarray:
    """The pixels an edit replaces: every non-zero mask pixel, grown by ``dilate``."""
    return grow(mask > 0, dilate)
