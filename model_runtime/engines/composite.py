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
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return out
    # Only the mask's bounding box grown by the feather can change: work on that crop.
    reach = max(0, feather) + 1
    h, w = mask.shape
    y0, y1 = max(0, ys.min() - reach), min(h, ys.max() + reach + 1)
    x0, x1 = max(0, xs.min() - reach), min(w, xs.max() + reach + 1)
    crop = (slice(y0, y1), slice(x0, x1))
    alpha = feather_alpha(mask[crop], feather)
    whole = alpha >= 1.0  # the edit as it is: no arithmetic (the same pixels, at a fraction of the cost)
    out[crop][whole] = edited[crop][whole]
    sel = (alpha > 0) & ~whole
    src = source[crop][sel].astype(np.float32)
    a = alpha[sel][:, None]
    mixed = src + a * (edited[crop][sel].astype(np.float32) - src)
    out[crop][sel] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out
