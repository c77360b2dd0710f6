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
#: Boxes at least this many pixels on their short side are smoothed at half resolution.
_HALF_FROM = 48


def membrane(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` (H, W, C) float32 kept where ``known``, smoothly interpolated elsewhere (push-pull).

    Known values are averaged down an image pyramid until every coarse cell has some, then each finer
    level fills its unknown part from the coarser one: a close, cheap stand-in for a membrane solve.
    """
    weight = known.astype(np.float32)
    if not weight.any():
        return np.zeros_like(values)
    channels = values.shape[2]
    levels: list[tuple[np.ndarray, np.ndarray]] = [(values * weight[..., None], weight)]
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


def blend_fill(out: np.ndarray, hole: tuple[np.ndarray, np.ndarray], edge: tuple, offsets: np.ndarray):
    """Shift the fill of ``out`` (uint8 (H, W, 3)) at the ``hole`` pixels (ys, xs) by a smooth correction,
    in place.

    ``edge`` = (ey, ex): pixels just outside the area (one entry per pair across its edge, repeats allowed);
    ``offsets`` (E, 3): the frame there minus the copy read there. An offset far from the edge's median
    (an unmasked moving thing or misaligned detail) is left out, so it is not smeared inside.
    """
    (ay, ax), (ey, ex) = hole, edge
    if not len(ey) or not len(ay):
        return out
    offsets = offsets.astype(np.float32)
    keep = np.abs(offsets - np.median(offsets, axis=0)).max(axis=1) <= _OUTLIER
    ey, ex, offsets = ey[keep], ex[keep], offsets[keep]
    if not len(ey):
        return out
    # Only the box of the area and the pixels around it takes part.
    h, w = out.shape[:2]
    y0, x0 = max(0, min(int(ay.min()), int(ey.min()))), max(0, min(int(ax.min()), int(ex.min())))
    y1, x1 = min(h, max(int(ay.max()), int(ey.max())) + 1), min(w, max(int(ax.max()), int(ex.max())) + 1)
    size = (y1 - y0) * (x1 - x0)
    flat = (ey - y0) * (x1 - x0) + (ex - x0)
    count = np.bincount(flat, minlength=size).astype(np.float32)
    sums = np.stack([np.bincount(flat, offsets[:, c], minlength=size) for c in range(3)], axis=-1)
    values = (sums / np.maximum(count, 1)[:, None]).astype(np.float32).reshape(y1 - y0, x1 - x0, 3)
    correction = _smooth(values, count.reshape(y1 - y0, x1 - x0) > 0)
    shifted = out[ay, ax] + correction[ay - y0, ax - x0]
    out[ay, ax] = np.clip(np.rint(shifted), 0, 255).astype(np.uint8)
    return out


def _smooth(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """:func:`membrane` of ``values`` known at ``known``, computed at half resolution and scaled up for
    a large box (the correction is smooth; the full-size pyramid level cost most of the blend)."""
    h, w = known.shape
    if min(h, w) < _HALF_FROM:
        return membrane(values, known)
    half = ((w + 1) // 2, (h + 1) // 2)
    weight = cv2.resize(known.astype(np.float32), half, interpolation=cv2.INTER_AREA)
    summed = cv2.resize(values * known[..., None], half, interpolation=cv2.INTER_AREA)
    small = membrane(summed / np.maximum(weight, 1e-6)[..., None], weight > 0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def hole_edges(area: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs across the edge of ``area``: (index into ``ys, xs`` of the hole pixel, the outside
    neighbour's y, x), for the four neighbours of every hole pixel."""
    h, w = area.shape
    parts = []
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        k = np.flatnonzero(inside)
        k = k[~area[ny[k], nx[k]]]
        parts.append((k, ny[k], nx[k]))
    k, ey, ex = (np.concatenate(p) for p in zip(*parts, strict=True))
    return k, ey, ex
