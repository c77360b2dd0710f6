"""Seamless fills: copied content keeps its detail and takes its level from the frame around the hole.

Content copied from other frames has the right detail but not always the right *level*: exposure,
white balance and shading drift over a clip, so a patch pasted as colours shows a seam. Along the
hole's edge the copy is read one pixel further out too (in its source frame), so the frame and the
copy can be compared pixel for pixel there; that offset is interpolated smoothly across the hole
(push-pull, a cheap stand-in for a membrane solve) and added to the copy. This is seamless cloning
with the copy's own gradients (Pérez et al.'s "Poisson image editing" with guidance = the copy), at
the cost of one image pyramid per frame instead of an iterative solve.
"""

from __future__ import annotations

import cv2
import numpy as np

#: A copy that differs from the frame across the hole's edge by more than this (grey levels) is not
#: pulled to it there.
_OUTLIER = 24.0


def membrane(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` (H, W, C) float32 kept where ``known``, smoothly interpolated elsewhere (push-pull).

    Known values are averaged down an image pyramid until every coarse cell has some, then each finer
    level fills its unknown part from the coarser one: a close, cheap stand-in for a membrane solve.
    """
    weight = known.astype(np.float32)
    if not weight.any():
        return np.zeros_like(values)
    channels = values.shape[2]
    levels = [(values * weight[..., None], weight)]
    while not (levels[-1][1] > 0).all() and min(levels[-1][1].shape) > 2:
        v, w = levels[-1]
        size = ((w.shape[1] + 1) // 2, (w.shape[0] + 1) // 2)
        v = cv2.resize(v, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], channels)
        levels.append((v, cv2.resize(w, size, interpolation=cv2.INTER_AREA)))
    v, w = levels[-1]
    mean = v.sum((0, 1)) / max(float(w.sum()), 1e-6)
    filled = np.where(w[..., None] > 0, v / np.maximum(w, 1e-6)[..., None], mean)
    for v, w in reversed(levels[:-1]):
        up = cv2.resize(filled.astype(np.float32), (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        filled = v + (1.0 - w)[..., None] * up.reshape(v.shape)
    return np.where(known[..., None], values, filled).astype(np.float32)


def blend_fill(out: np.ndarray, area: np.ndarray, ey: np.ndarray, ex: np.ndarray, offsets: np.ndarray):
    """Shift the fill of ``out`` (uint8 (H, W, 3)) inside ``area`` by a smooth correction, in place.

    ``ey, ex``: pixels just outside the area (one entry per pair across its edge, repeats allowed);
    ``offsets`` (E, 3): the frame there minus the copy read there. An offset far from the edge's median
    (an unmasked moving thing or misaligned detail) is left out, so it is not smeared inside.
    """
    if not len(ey):
        return out
    offsets = offsets.astype(np.float32)
    keep = np.abs(offsets - np.median(offsets, axis=0)).max(axis=1) <= _OUTLIER
    ey, ex, offsets = ey[keep], ex[keep], offsets[keep]
    if not len(ey):
        return out
    # Only the area's box (which holds the pixels around it too) takes part.
    h, w = area.shape
    y0, x0 = max(0, int(ey.min())), max(0, int(ex.min()))
    y1, x1 = min(h, int(ey.max()) + 1), min(w, int(ex.max()) + 1)
    size = (y1 - y0) * (x1 - x0)
    flat = (ey - y0) * (x1 - x0) + (ex - x0)
    count = np.bincount(flat, minlength=size).astype(np.float32)
    known = count > 0
    sums = np.stack([np.bincount(flat, offsets[:, c], minlength=size) for c in range(3)], axis=-1)
    values = (sums / np.maximum(count, 1)[:, None]).astype(np.float32).reshape(y1 - y0, x1 - x0, 3)
    known = known.reshape(y1 - y0, x1 - x0)
    correction = membrane(values, known)
    box = out[y0:y1, x0:x1]
    hole = area[y0:y1, x0:x1]
    box[hole] = np.clip(np.rint(box[hole] + correction[hole]), 0, 255).astype(np.uint8)
    return out
