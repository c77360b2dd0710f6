"""Feathered compositing shared by every engine (DESIGN.md §3.5).

The edited pixels replace the source inside the mask and fade into it over ``feather`` pixels *outside*
the mask (so an object's edge never leaks into a deletion). Beyond that band the output is the source,
bit for bit: those pixels are copied, never recomputed.
"""

from __future__ import annotations

import cv2
import numpy as np


def feather_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """Blend weight of the edited image, float32 in [0, 1].

    1 (or the mask's own soft value) inside the mask; outside it falls smoothly to exactly 0 at a
    distance of ``feather + 1`` pixels from the nearest mask pixel.
    """
    alpha = mask.astype(np.float32) / 255.0
    region = mask > 0
    if feather <= 0 or not region.any():
        return alpha
    dist = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    ramp = np.clip(1.0 - dist / (feather + 1.0), 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep: no visible kink where the band starts
    return np.maximum(alpha, ramp)


def composite(source: np.ndarray, edited: np.ndarray, mask: np.ndarray, feather: int = 3) -> np.ndarray:
    """``edited`` inside the feathered ``mask``, ``source`` exactly everywhere else (uint8 RGB)."""
    if source.shape != edited.shape or source.shape[:2] != mask.shape:
        raise ValueError(f"shapes differ: source {source.shape}, edited {edited.shape}, mask {mask.shape}")
    out = source.copy()
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask, np.uint8))  # of the non-zero pixels
    if not w:
        return out
    # Only the mask's bounding box grown by the feather can change: work on that crop.
    reach = max(0, feather) + 1
    rows, cols = mask.shape
    y0, y1 = max(0, y - reach), min(rows, y + h + reach)
    x0, x1 = max(0, x - reach), min(cols, x + w + reach)
    crop = (slice(y0, y1), slice(x0, x1))
    alpha = feather_alpha(mask[crop], feather)
    # The edit as it is where alpha is 1 (no arithmetic); cv2.copyTo instead of boolean indexing (~100×
    # quicker on a large hole), into a contiguous crop that is put back.
    part = np.ascontiguousarray(out[crop])
    cv2.copyTo(np.ascontiguousarray(edited[crop]), (alpha >= 1.0).view(np.uint8), part)
    # The band: flat indices of its pixels, so only they are read (not boolean masks of the whole box).
    sel = np.flatnonzero((alpha > 0) & (alpha < 1.0))
    if len(sel):
        src = source[crop].reshape(-1, 3)[sel].astype(np.float32)
        a = alpha.reshape(-1)[sel][:, None]
        mixed = src + a * (edited[crop].reshape(-1, 3)[sel].astype(np.float32) - src)
        part.reshape(-1, 3)[sel] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    out[crop] = part
    return out
