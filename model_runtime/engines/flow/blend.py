"""Seamless fills: copied content keeps its gradients and takes its level from the frame around the hole.

Content copied from other frames has the right *gradients* but not always the right *level*: exposure,
white balance and shading drift over a clip, so a patch pasted as colours shows a seam. Here each part
of the hole is re-solved (Pérez et al., "Poisson image editing"; FGVC fuses its fill the same way) so
that the differences between neighbouring pixels match target gradients read in the *source* frames
(so two sources meeting inside the hole add no step either), while the pixels just outside stay the
frame's: the least-squares solution of ``Σ (X_q - X_p - t_pq)²`` over every pixel pair touching the
hole, by a few dozen conjugate-gradient steps from the copy (the correction is smooth, so it converges
fast), one connected part of the hole at a time.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Conjugate-gradient steps per part of a hole, and the early stop (residual RMS, grey levels).
_ITERATIONS = 30
_TOLERANCE = 0.25
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


def _lap(z: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
    """Σ over the 4 neighbours of w_pn (z_p - z_n), per pixel (edge weights ``wx`` (H, W-1, 1), ``wy``)."""
    return _div((z[:, 1:] - z[:, :-1]) * wx, (z[1:] - z[:-1]) * wy)


def _div(tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    """Per pixel: Σ of the pairs to the left and above minus those to the right and below."""
    out = np.zeros((ty.shape[0] + 1, tx.shape[1] + 1, tx.shape[2]), tx.dtype)
    out[:, :-1] -= tx
    out[:, 1:] += tx
    out[:-1] -= ty
    out[1:] += ty
    return out


def _edge_weights(frame: np.ndarray, hole: np.ndarray, tx: np.ndarray, ty: np.ndarray):
    """1 for every pair, except pairs across the hole's edge whose level offset (frame outside minus
    copy inside) differs from the edge's median offset (the exposure change the blend is for) by more
    than ``_OUTLIER``: an unmasked moving thing or misaligned detail there would be dragged inside."""
    offsets, across = [], []
    for d, t in ((1, tx), (0, ty)):
        n = frame.shape[d] - 1
        a = (slice(None), slice(0, n)) if d == 1 else (slice(0, n),)
        b = (slice(None), slice(1, None)) if d == 1 else (slice(1, None),)
        sign = np.where(hole[a], 1.0, -1.0)[..., None]  # outside minus inside, whichever end is inside
        offsets.append((frame[b] - frame[a] - t) * sign)
        across.append(hole[a] != hole[b])
    edge = np.concatenate([o[c] for o, c in zip(offsets, across, strict=True)])
    median = np.median(edge, axis=0) if len(edge) else np.zeros(frame.shape[2], np.float32)
    return [
        (~(c & (np.abs(o - median).max(axis=2) > _OUTLIER))).astype(np.float32)[..., None]
        for o, c in zip(offsets, across, strict=True)
    ]


def poisson_fill(frame: np.ndarray, hole: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    """``frame`` (float32 (H, W, C)) with its ``hole`` re-solved for target gradients ``tx``, ``ty``.

    ``tx[y, x]`` is the wanted ``X[y, x + 1] - X[y, x]``, ``ty`` likewise downwards; only pairs touching
    the hole matter. The hole's values in ``frame`` are the start. The unknowns stay in place in the
    crop (masked), which is cheaper than gathering them for every step.
    """
    inside = hole[..., None].astype(np.float32)
    x = frame.astype(np.float32, copy=True)
    wx, wy = _edge_weights(x, hole, tx, ty)
    r = (_div(tx * wx, ty * wy) - _lap(x, wx, wy)) * inside
    p = r.copy()
    rr = np.einsum("ijk,ijk->k", r, r)
    limit = _TOLERANCE**2 * float(hole.sum())
    for _ in range(_ITERATIONS):
        if (rr <= limit).all():
            break
        ap = _lap(p, wx, wy) * inside
        alpha = rr / np.maximum(np.einsum("ijk,ijk->k", p, ap), 1e-12)
        x += alpha * p
        r -= alpha * ap
        rr_new = np.einsum("ijk,ijk->k", r, r)
        p = r + (rr_new / np.maximum(rr, 1e-12)) * p
        rr = rr_new
    return x


def _targets(image: np.ndarray, has: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Target gradients (tx, ty): the copied differences where known (mean of both ends), else the image's.

    ``grads`` (H, W, 8, 3): differences to the right, left, below and above, valid where ``has`` and
    not NaN: first as read by every source of the pixel (used inside the hole), then as read by any
    (used across its edge, where the image's own step is the seam to remove).
    """
    targets = []
    for axis, (ahead, behind) in ((1, (0, 1)), (0, (2, 3))):
        n = image.shape[axis] - 1
        first = (slice(None), slice(0, n)) if axis == 1 else (slice(0, n),)
        second = (slice(None), slice(1, None)) if axis == 1 else (slice(1, None),)
        across = (has[first] != has[second])[..., None]
        ga = np.where(across, grads[first][..., ahead + 4, :], grads[first][..., ahead, :])
        gb = np.where(across, grads[second][..., behind + 4, :], grads[second][..., behind, :])
        a = has[first][..., None] & ~np.isnan(ga[..., :1])
        b = has[second][..., None] & ~np.isnan(gb[..., :1])
        total = np.where(a, np.nan_to_num(ga), 0) - np.where(b, np.nan_to_num(gb), 0)
        count = a.astype(np.float32) + b
        diff = image[second] - image[first]
        targets.append(np.where(count > 0, total / np.maximum(count, 1), diff).astype(np.float32))
    return targets[0], targets[1]


def blend_fill(out: np.ndarray, area: np.ndarray, ys: np.ndarray, xs: np.ndarray, found: np.ndarray):
    """Re-solve ``out`` (uint8 (H, W, 3), filled) inside ``area`` in the gradient domain, in place.

    ``ys, xs``: the area's pixels copied from other frames; ``found`` (M, 9, 3): their colour and the
    differences described in :func:`_targets`, read around them in their source frames.
    """
    ay, ax = np.nonzero(area)
    if not len(ay):
        return out
    # Work on the area's box (plus the ring of pixels around it): a full-frame array per frame is waste.
    h, w = area.shape
    y0, x0 = max(0, ay.min() - 1), max(0, ax.min() - 1)
    y1, x1 = min(h, ay.max() + 2), min(w, ax.max() + 2)
    grads = np.full((y1 - y0, x1 - x0, 8, 3), np.nan, np.float32)
    has = np.zeros((y1 - y0, x1 - x0), bool)
    grads[ys - y0, xs - x0] = found[:, 1:]
    has[ys - y0, xs - x0] = True
    part = area[y0:y1, x0:x1]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(part.astype(np.uint8), connectivity=4)
    for k in range(1, count):
        x, y, bw, bh = stats[k, :4]
        box = slice(max(0, y - 1), y + bh + 1), slice(max(0, x - 1), x + bw + 1)
        frame_box = slice(y0 + box[0].start, y0 + box[0].stop), slice(x0 + box[1].start, x0 + box[1].stop)
        crop = out[frame_box].astype(np.float32)
        tx, ty = _targets(crop, has[box], grads[box])
        solved = poisson_fill(crop, labels[box] == k, tx, ty)
        out[frame_box] = np.clip(np.rint(solved), 0, 255).astype(np.uint8)
    return out
