"""The masks of a job: per-frame files, one mask for every frame, or masks tracked from keyframes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from model_runtime.cvtyped import decode
from vivid_desktop.render_folder import MaskFolder, read_mask


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
    def single(cls, path: str | Path, shape: tuple[int, int]) -> MaskSequence:
        """One mask for every frame; ``shape`` = (h, w) of the clip."""
        mask = read_mask(path, shape)
        return cls(lambda t: mask)

    @classmethod
    def folder(cls, folder: str | Path, shape: tuple[int, int]) -> MaskSequence:
        """Per-frame ``{frame:06d}.png`` files; a frame without a file uses the nearest one."""
        masks = MaskFolder(folder)
        masks.read(masks.frames[0], shape)  # a wrong size is reported before any work starts
        return cls(lambda t: masks.read(t, shape))

    @classmethod
    def encoded(cls, masks: dict[int, bytes]) -> MaskSequence:
        """Masks kept in memory as PNG bytes (tracked masks)."""
        return cls(lambda t: decode(np.frombuffer(masks[t], np.uint8), cv2.IMREAD_GRAYSCALE))


def grow(region: np.ndarray, pixels: int) -> np.ndarray:
    """A boolean region grown by ``pixels`` (disc).

    Only the region's bounding box grown by ``pixels`` is dilated (nothing beyond it can change): a small
    hole costs a small box, not the whole frame.
    """
    if pixels <= 0:
        return region
    binary = np.ascontiguousarray(region, bool).view(np.uint8)
    x, y, w, h = cv2.boundingRect(binary)  # of the non-zero pixels
    if not w:
        return region
    rows, cols = binary.shape
    box = (
        slice(max(0, y - pixels), min(rows, y + h + pixels)),
        slice(max(0, x - pixels), min(cols, x + w + pixels)),
    )
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    out = np.zeros(binary.shape, bool)
    out[box] = cv2.dilate(np.ascontiguousarray(binary[box]), kernel) > 0
    return out


def edit_region(mask: np.ndarray, dilate: int) -> np.ndarray:
    """The pixels an edit replaces: every non-zero mask pixel, grown by ``dilate``."""
    return grow(mask > 0, dilate)
