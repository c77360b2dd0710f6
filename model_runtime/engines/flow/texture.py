"""Texture for what no frame shows: each unseen part of a hole copied from the best-matching place nearby.

Smooth inpainting (Telea) fills a region no frame uncovers with a blur that stands out in grass, gravel
or foliage. Here each connected unseen part takes a block of real texture: the ring of known pixels
around it is matched (masked sum of squared differences, ``cv2.matchTemplate``) against the
surroundings, every candidate that would read from any hole is ruled out, and the part copies the pixels
at the best offset. The copy is blended in the gradient domain afterwards like content from other
frames, and frames after this one take it along the flow, so it stays put in time.
"""

from __future__ import annotations

import cv2
import numpy as np

#: The known ring matched around a part (fraction of its size, at least 3 px) and how far the search
#: reaches (multiples of its size, at least 16 px).
_RING = 0.35
_REACH = 2.0


def _box(y0: int, x0: int, y1: int, x1: int, pad: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    return max(0, y0 - pad), max(0, x0 - pad), min(shape[0], y1 + pad), min(shape[1], x1 + pad)


def exemplar_fill(image: np.ndarray, todo: np.ndarray, holes: np.ndarray) -> np.ndarray | None:
    """Offsets (M, 2) of (dy, dx) to copy each ``todo`` pixel from, in ``np.nonzero(todo)`` order.

    ``image``: uint8 (H, W, 3); ``todo``: the pixels to fill; ``holes``: every pixel that must not be
    read (the whole hole of this frame). None where some part found no candidate (the caller falls
    back to smooth inpainting).
    """
    ys, xs = np.nonzero(todo)
    offsets = np.zeros((len(ys), 2), np.int64)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(todo.astype(np.uint8), connectivity=8)
    shape = todo.shape
    for k in range(1, count):
        x, y, w, h = (int(v) for v in stats[k, :4])
        side = max(w, h)
        ring = max(3, round(_RING * side))
        ty0, tx0, ty1, tx1 = _box(y, x, y + h, x + w, ring, shape)
        reach = max(16, round(_REACH * side))
        sy0, sx0, sy1, sx1 = _box(ty0, tx0, ty1, tx1, reach, shape)
        template = image[ty0:ty1, tx0:tx1]
        known = (~holes[ty0:ty1, tx0:tx1]).astype(np.uint8)
        search = image[sy0:sy1, sx0:sx1]
        if search.shape[0] <= template.shape[0] or search.shape[1] <= template.shape[1] or not known.any():
            return None
        cost = cv2.matchTemplate(
            search.astype(np.float32), template.astype(np.float32), cv2.TM_SQDIFF, mask=np.dstack([known] * 3)
        )
        # A candidate may not read any hole pixel: count hole pixels under each placement.
        area = holes[sy0:sy1, sx0:sx1].astype(np.float32)
        size = template.shape[1::-1]
        covered = cv2.boxFilter(area, -1, size, anchor=(0, 0), normalize=False)
        covered = covered[: cost.shape[0], : cost.shape[1]]
        cost = np.where((covered > 0.5) | ~np.isfinite(cost), np.inf, cost)
        if not np.isfinite(cost).any():
            return None
        by, bx = np.unravel_index(int(np.argmin(cost)), cost.shape)
        part = labels[ys, xs] == k
        offsets[part] = (sy0 + by - ty0, sx0 + bx - tx0)
    return offsets
