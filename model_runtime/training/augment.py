"""Mask augmentations of the paper (DESIGN.md §1): a user's mask is rarely the entity's exact outline.

Six kinds, chosen at random per sample so the model learns to fill anything from a tight silhouette to a
rough box:

==============  ===========================================================================
``original``    the mask as given (binarised at 128)
``expand``      dilated by ``radius`` pixels (elliptical structuring element)
``hull``        the convex hull of every connected part, filled
``hull_expand`` the hull, then dilated by ``radius``
``box``         the axis-aligned bounding box of all mask pixels, filled
``box_expand``  the box grown by ``radius`` pixels on every side (clipped to the frame)
==============  ===========================================================================

Video masks ``(T, H, W)`` are augmented frame by frame (a hull or a box follows the entity as it moves).
Every result is a binary uint8 mask of the input's shape, 0 or 255. An empty mask stays empty.
"""

from __future__ import annotations

from typing import Literal, get_args

import cv2
import numpy as np

Augmentation = Literal["original", "expand", "hull", "hull_expand", "box", "box_expand"]

#: every kind, in the order of the paper's list
AUGMENTATIONS: tuple[Augmentation, ...] = get_args(Augmentation)


def binarise(mask: np.ndarray) -> np.ndarray:
    """Soft masks (feathered edges) count as masked from 128 up."""
    return np.where(mask >= 128, 255, 0).astype(np.uint8)


def expand(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate a binary 2-D mask by ``radius`` pixels."""
    if radius <= 0:
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask, kernel)


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The filled convex hull of all mask pixels of a 2-D mask (one hull around every part)."""
    points = cv2.findNonZero(mask)
    out = np.zeros_like(mask)
    if points is None:
        return out
    hull = cv2.convexHull(points)
    cv2.fillConvexPoly(out, hull, 255)
    # fillConvexPoly can miss single pixels on the outline; the hull must contain the mask.
    return np.maximum(out, mask)


def bounding_box(mask: np.ndarray, radius: int = 0) -> np.ndarray:
    """The filled bounding box of a 2-D mask, grown by ``radius`` and clipped to the frame."""
    out = np.zeros_like(mask)
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return out
    h, w = mask.shape
    y0, y1 = max(0, ys.min() - radius), min(h, ys.max() + 1 + radius)
    x0, x1 = max(0, xs.min() - radius), min(w, xs.max() + 1 + radius)
    out[y0:y1, x0:x1] = 255
    return out


def _augment_frame(mask: np.ndarray, kind: Augmentation, radius: int) -> np.ndarray:
    if kind == "original":
        return mask.copy()
    if kind == "expand":
        return expand(mask, radius)
    if kind == "hull":
        return convex_hull(mask)
    if kind == "hull_expand":
        return expand(convex_hull(mask), radius)
    if kind == "box":
        return bounding_box(mask)
    if kind == "box_expand":
        return bounding_box(mask, radius)
    raise ValueError(f"unknown mask augmentation {kind!r}; choose one of {', '.join(AUGMENTATIONS)}")


def augment_mask(mask: np.ndarray, kind: Augmentation, radius: int = 0) -> np.ndarray:
    """Apply one augmentation to a ``(H, W)`` or ``(T, H, W)`` uint8 mask; returns a binary mask."""
    if mask.ndim not in (2, 3):
        raise ValueError(f"a mask is (H, W) or (T, H, W), not {mask.shape}")
    binary = binarise(mask)
    if binary.ndim == 2:
        return _augment_frame(binary, kind, radius)
    return np.stack([_augment_frame(m, kind, radius) for m in binary])


def expand_radius(shape: tuple[int, ...], rng: np.random.Generator) -> int:
    """A random dilation radius: 2 % to 8 % of the shorter frame side, at least one pixel."""
    short = min(shape[-2:])
    return int(rng.integers(max(1, short // 50), max(2, short * 2 // 25) + 1))
