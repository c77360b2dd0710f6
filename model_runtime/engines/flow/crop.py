"""Filling in a crop: when a chunk's holes cover a small part of the frame, the fill works in a box
around them (everything per pixel of the frame, from copies to hole maps, shrinks with it).

The box holds every hole of the chunk plus a margin for where the chains land (one step of the flow
beyond a hole) and for the pixels read around them; pixels outside it are never part of the fill, and
the composite keeps every pixel outside the feathered mask bit for bit anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model_runtime.engines.flow.cache import dequantize
from model_runtime.engines.flow.flow import ClipFlow

#: Crop only when the box is at most this fraction of the frame (else the whole frame is as cheap).
CROP_LIMIT = 0.6
#: Pixels added on each side besides the largest motion: bilinear reads, the edge's neighbours.
MARGIN = 16


def largest_motion(flows: ClipFlow, lo: int, hi: int) -> float:
    """Nearly the largest displacement (99.9th percentile, full-resolution pixels) of the flows between
    frames ``lo`` … ``hi - 1``, both directions: how far beyond a hole a chain can land."""
    sx, sy = (np.float32(s) for s in flows.scale)
    largest = 0.0
    for t in range(lo, hi - 1):
        for fixed in flows.fixed(t):
            # Every other pixel, made float only there; the larger of |dx|, |dy| by np.maximum (a max
            # over a last axis of two is several times slower).
            step = np.abs(dequantize(fixed[::2, ::2]))
            largest = max(
                largest, float(np.percentile(np.maximum(step[..., 0] * sx, step[..., 1] * sy), 99.9))
            )
    return largest


def fill_box(areas: Sequence[np.ndarray], reach: float) -> tuple[slice, slice] | None:
    """The box (rows, columns) around every area grown by ``reach`` + :data:`MARGIN`, or None when it is
    not much smaller than the frame (or there is no hole at all)."""
    union = np.logical_or.reduce(np.asarray(areas), axis=0)
    rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    if not len(rows):
        return None
    h, w = union.shape
    pad = MARGIN + int(np.ceil(reach))
    y0, y1 = max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)
    x0, x1 = max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)
    if (y1 - y0) * (x1 - x0) > CROP_LIMIT * h * w:
        return None
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))
