"""Flow completion: the flow inside a hole (which follows the removed object) replaced from around it."""

from __future__ import annotations

import cv2
import numpy as np


def complete_flow(flow: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Replace ``flow`` inside ``hole`` by a smooth interpolation of the flow around it.

    Push-pull over an image pyramid: known values are averaged down until every coarse cell has some,
    then coarse values fill the unknown part of each finer level. Known pixels keep their values exactly.
    Only a neighbourhood of the hole (the hole's size on each side) takes part, which keeps it cheap.
    """
    ys, xs = np.nonzero(hole)
    if not len(ys):
        return flow
    ry, rx = ys.max() - ys.min() + 8, xs.max() - xs.min() + 8
    crop = (slice(max(0, ys.min() - ry), ys.max() + ry + 1), slice(max(0, xs.min() - rx), xs.max() + rx + 1))
    out = flow.copy()
    out[crop] = _push_pull(flow[crop], hole[crop])
    return out


def _push_pull(flow: np.ndarray, hole: np.ndarray) -> np.ndarray:
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
