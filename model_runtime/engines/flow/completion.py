"""Flow completion: the flow inside a hole (which follows the removed object) replaced from around it.

Behind a removed object is mostly the same background that surrounds it, seen by a moving camera, so
its motion is close to one projective motion (a homography) of the background around the hole. That
motion is fitted robustly (RANSAC) to the flow in a ring around each part of the hole and used inside
it; what the fit misses in the ring (the residual) is interpolated smoothly and fades out within a few
pixels of the hole's edge, so the completed flow meets the flow around it without a step. Measured on
real footage against the clip's true flow (``benchmarks/completion.py``), this halves the flow error in
the hole of a smooth interpolation across it and makes the fill there steady; a smooth interpolation is
what remains where no motion can be fitted (a ring too small, too few consistent samples).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Width (working pixels) of the ring around a part of the hole where the background motion is fitted.
RING = 8
#: RANSAC's inlier threshold (working pixels): the ring's flow is DIS at working resolution.
THRESHOLD = 0.5
#: How far (working pixels) into the hole the ring's residual to the fitted motion reaches (e-folding).
FADE = 6.0
#: Fewest ring samples (and inliers) a fit needs; at most this many times as many are used.
MIN_SAMPLES = 24
MAX_SAMPLES = 1200


def complete_flow(flow: np.ndarray, hole: np.ndarray, needed: np.ndarray | None = None) -> np.ndarray:
    """``flow`` (H, W, 2) with its values inside ``hole`` (H, W bool) completed from around it.

    Outside the hole the flow is returned unchanged. Each connected part of the hole is completed on
    its own (two objects far apart may have different backgrounds). ``needed`` (H, W bool): complete
    only the hole's pixels there (the rest of the hole keeps the raw flow), for a caller that reads
    the flow at some of them only.
    """
    if not hole.any():
        return flow
    out = flow.copy()
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    for k in range(1, count):
        x, y, w, h = stats[k, :4]
        crop = _around(hole.shape, x, y, w, h)
        component = labels[crop] == k
        ys, xs = np.nonzero(component if needed is None else component & needed[crop])
        if not len(ys):
            continue
        origin = (crop[0].start, crop[1].start)
        done = _complete_part(flow[crop], hole[crop], component, (ys, xs), origin)
        out[ys + origin[0], xs + origin[1]] = done
    return out


def _around(shape: tuple[int, ...], x: int, y: int, w: int, h: int) -> tuple[slice, slice]:
    """The box of a part of the hole with room for its ring and the push-pull's coarse levels."""
    pad_y, pad_x = h // 2 + 2 * RING, w // 2 + 2 * RING
    return (
        slice(max(0, y - pad_y), min(shape[0], y + h + pad_y)),
        slice(max(0, x - pad_x), min(shape[1], x + w + pad_x)),
    )


def _complete_part(
    flow: np.ndarray,
    hole: np.ndarray,
    component: np.ndarray,
    at: tuple[np.ndarray, np.ndarray],
    origin: tuple[int, int],
) -> np.ndarray:
    """The completed flow (M, 2) at pixels ``at`` (ys, xs) of one part of the hole (``component``), in
    its box."""
    ys, xs = at
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1,) * 2)
    ring = (cv2.dilate(component.astype(np.uint8), kernel) > 0) & ~hole
    model = _fit(flow, ring, origin)
    if model is None:
        return push_pull(flow, hole)[ys, xs]
    base = _motion(model, xs + origin[1], ys + origin[0])
    # Never beyond the ring's own range of motion (a homography extrapolated over a wide hole can bend).
    seen = flow[ring]
    margin = 0.25 * (seen.max(axis=0) - seen.min(axis=0)) + 1.0
    base = np.clip(base, seen.min(axis=0) - margin, seen.max(axis=0) + margin)
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)[ys, xs]
    fade = np.exp(-depth / FADE)
    near = fade > 0.02  # the residual reaches only a few pixels in (the fill reads deeper than that)
    if near.any():
        ry, rx = np.nonzero(ring)
        residual = np.zeros(flow.shape, np.float32)
        residual[ry, rx] = flow[ry, rx] - _motion(model, rx + origin[1], ry + origin[0])
        base[near] += push_pull(residual, ~ring)[ys[near], xs[near]] * fade[near, None]
    return base


def _fit(flow: np.ndarray, ring: np.ndarray, origin: tuple[int, int]) -> np.ndarray | None:
    """A homography (3 × 3) mapping ring pixels to where their flow takes them, or None."""
    ys, xs = np.nonzero(ring)
    if len(ys) < MIN_SAMPLES:
        return None
    step = -(-len(ys) // MAX_SAMPLES)  # evenly spaced samples: deterministic and cheap
    ys, xs = ys[::step], xs[::step]
    src = np.stack([xs + origin[1], ys + origin[0]], axis=-1).astype(np.float32)
    dst = src + flow[ys, xs]
    model, inliers = cv2.findHomography(src, dst, cv2.RANSAC, THRESHOLD)
    if model is None or inliers is None or int(inliers.sum()) < MIN_SAMPLES:
        return None
    return np.asarray(model, np.float64)


def _motion(model: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The displacement (M, 2) float32 that ``model`` gives the pixels (xs, ys)."""
    m = model.astype(np.float32)
    x, y = xs.astype(np.float32), ys.astype(np.float32)
    den = m[2, 0] * x + m[2, 1] * y + m[2, 2]
    den = np.where(np.abs(den) < 1e-6, 1e-6, den)
    u = (m[0, 0] * x + m[0, 1] * y + m[0, 2]) / den - x
    v = (m[1, 0] * x + m[1, 1] * y + m[1, 2]) / den - y
    return np.stack([u, v], axis=-1).astype(np.float32)


def push_pull(flow: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``flow`` kept outside ``hole`` and smoothly interpolated inside it.

    Push-pull over an image pyramid: known values are averaged down until every coarse cell has some,
    then coarse values fill the unknown part of each finer level. Known pixels keep their values exactly.
    """
    known = (~hole).astype(np.float32)
    if not known.any():
        return np.zeros_like(flow)
    levels: list[tuple[np.ndarray, np.ndarray]] = [(flow * known[..., None], known)]
    while not (levels[-1][1] > 0).all() and min(levels[-1][1].shape) > 2:
        v, w = levels[-1]
        size = ((w.shape[1] + 1) // 2, (w.shape[0] + 1) // 2)
        levels.append(
            (
                cv2.resize(v, size, interpolation=cv2.INTER_AREA),
                cv2.resize(w, size, interpolation=cv2.INTER_AREA),
            )
        )
    v, w = levels[-1]
    filled = np.where(w[..., None] > 0, v / np.maximum(w, 1e-6)[..., None], v.sum((0, 1)) / w.sum())
    for v, w in reversed(levels[:-1]):
        up = cv2.resize(filled.astype(np.float32), (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        filled = v + (1.0 - w)[..., None] * up
    return np.where(hole[..., None], filled, flow).astype(np.float32)
