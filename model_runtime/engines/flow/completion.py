"""Flow completion: the flow inside a hole (which follows the removed object) replaced from around it.

Behind a removed object is mostly the same background that surrounds it, seen by a moving camera, so
its motion is close to one projective motion (a homography) of the background around the hole. That
motion is fitted robustly (RANSAC: the removed object's motion smeared into part of the ring is left
out) to the flow in a ring around each part of the hole and used inside it, within the ring's own range
of motion. Measured on real footage against the clip's true flow (``benchmarks/completion.py``), the
flow error in the hole's background falls to a fifth of a smooth interpolation's and the fill there
becomes about as steady as the clip. Spreading the ring's residual to the fit a few pixels inside (so
the flow meets its surroundings at the hole's edge) was measured worse: the ring next to a hole grown
less (dense holes) still holds the object's smeared motion. A part with no motion to fit (a ring too
small, too few consistent samples) is interpolated smoothly across (push-pull).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Width (working pixels) of the ring around a part of the hole where the background motion is fitted.
RING = 8
#: RANSAC's inlier threshold (working pixels): the ring's flow is DIS at working resolution.
THRESHOLD = 0.5
#: Fewest ring samples (and inliers) a fit needs; at most this many are used (evenly spaced).
MIN_SAMPLES = 24
MAX_SAMPLES = 400
#: RANSAC's most iterations (its own stop comes first when most of the ring moves alike).
ITERATIONS = 200


def complete_flow(flow: np.ndarray, hole: np.ndarray, needed: np.ndarray | None = None) -> np.ndarray:
    """``flow`` (H, W, 2) with its values inside ``hole`` (H, W bool) completed from around it.

    Outside the hole the flow is returned unchanged. Each connected part of the hole takes the motion of
    its own ring (two objects far apart may have different backgrounds). ``needed`` (H, W bool):
    complete only the hole's pixels there (the rest of the hole keeps the raw flow), for a caller that
    reads the flow at some of them only.
    """
    if not hole.any():
        return flow
    box = _box(hole)
    f, h = flow[box], hole[box]
    ys, xs = np.nonzero(h if needed is None else h & needed[box])
    out = flow.copy()
    if len(ys):
        out[box][ys, xs] = _complete(f, h, (ys, xs), (box[0].start, box[1].start))
    return out


def _box(hole: np.ndarray) -> tuple[slice, slice]:
    """The box of the hole with room for its ring."""
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    pad = RING + 1
    return (
        slice(max(0, rows[0] - pad), min(hole.shape[0], rows[-1] + 1 + pad)),
        slice(max(0, cols[0] - pad), min(hole.shape[1], cols[-1] + 1 + pad)),
    )


def _complete(
    flow: np.ndarray, hole: np.ndarray, at: tuple[np.ndarray, np.ndarray], origin: tuple[int, int]
) -> np.ndarray:
    """The completed flow (M, 2) at the hole's pixels ``at`` (ys, xs) of a box at ``origin``."""
    ys, xs = at
    count, labels = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8, ltype=cv2.CV_16U)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1,) * 2)
    # Each ring pixel belongs to the part it surrounds (the higher label where two rings meet).
    owner = np.where(hole, 0, cv2.dilate(labels, kernel))
    # Samples on a 2-px lattice: neighbouring flow vectors of DIS are not independent anyway.
    ry, rx = np.nonzero(owner[::2, ::2])
    ry, rx = 2 * ry, 2 * rx
    rk = owner[ry, rx].astype(np.int64)
    order = np.argsort(rk, kind="stable")
    ry, rx, rk = ry[order], rx[order], rk[order]
    starts = np.searchsorted(rk, np.arange(count + 1))
    models = np.zeros((count, 3, 3), np.float64)
    low, high = np.zeros((count, 2), np.float32), np.zeros((count, 2), np.float32)
    fitted = np.zeros(count, bool)
    for k in range(1, count):
        a, b = starts[k], starts[k + 1]
        seen = flow[ry[a:b], rx[a:b]]
        model = _fit(seen, rx[a:b] + origin[1], ry[a:b] + origin[0])
        if model is None:
            continue
        models[k], fitted[k] = model, True
        # Never beyond the ring's own range of motion (a homography extrapolated over a wide hole bends).
        margin = 0.25 * (seen.max(axis=0) - seen.min(axis=0)) + 1.0
        low[k], high[k] = seen.min(axis=0) - margin, seen.max(axis=0) + margin
    part = labels[ys, xs].astype(np.int64)
    done = np.clip(_motion(models[part], xs + origin[1], ys + origin[0]), low[part], high[part])
    if not fitted[part].all():  # parts with no motion to fit: a smooth interpolation across them
        rest = ~fitted[part]
        done[rest] = push_pull(flow, hole)[ys[rest], xs[rest]]
    return done


def _fit(flow: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray | None:
    """A homography (3 × 3) taking the ring pixels (xs, ys) to where their ``flow`` (N, 2) moves them.

    The consistent samples are found by RANSAC with an affine model (OpenCV's homography RANSAC costs
    ten times as much), then the homography is fitted to them by least squares.
    """
    if len(xs) < MIN_SAMPLES:
        return None
    step = -(-len(xs) // MAX_SAMPLES)  # evenly spaced samples: deterministic and cheap
    src = np.stack([xs[::step], ys[::step]], axis=-1).astype(np.float64)
    dst = src + flow[::step]
    affine, inliers = cv2.estimateAffine2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=THRESHOLD, maxIters=ITERATIONS, refineIters=0
    )
    if affine is None or inliers is None or int(inliers.sum()) < MIN_SAMPLES:
        return None
    return _homography(src[inliers.ravel() > 0], dst[inliers.ravel() > 0])


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares homography (linear, in coordinates centred and scaled for conditioning)."""
    centre, scale = src.mean(axis=0), float(src.std()) + 1e-9
    p, q = (src - centre) / scale, (dst - centre) / scale
    x, y, u, v = p[:, 0], p[:, 1], q[:, 0], q[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    rows = np.concatenate(
        [
            np.stack([x, y, one, zero, zero, zero, -x * u, -y * u], axis=1),
            np.stack([zero, zero, zero, x, y, one, -x * v, -y * v], axis=1),
        ]
    )
    h = np.linalg.lstsq(rows, np.concatenate([u, v]), rcond=None)[0]
    normal = np.append(h, 1.0).reshape(3, 3)
    to = np.array([[1 / scale, 0, -centre[0] / scale], [0, 1 / scale, -centre[1] / scale], [0, 0, 1]])
    return np.linalg.inv(to) @ normal @ to


def _motion(models: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The displacement (M, 2) float32 that ``models`` (M, 3, 3), one per pixel, give the pixels (xs, ys)."""
    m = models.astype(np.float32)
    x, y = xs.astype(np.float32), ys.astype(np.float32)
    den = m[:, 2, 0] * x + m[:, 2, 1] * y + m[:, 2, 2]
    den = np.where(np.abs(den) < 1e-6, 1e-6, den)
    u = (m[:, 0, 0] * x + m[:, 0, 1] * y + m[:, 0, 2]) / den - x
    v = (m[:, 1, 0] * x + m[:, 1, 1] * y + m[:, 1, 2]) / den - y
    return np.stack([u, v], axis=-1)


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
