"""Mask tools as small functions over numpy: uint8 (H, W), 255 = region to edit, soft values allowed.

Coordinates are pixel coordinates ``(x, y)`` = (column, row) with pixel centres on integers (a widget
maps a scene position ``p`` to ``p - 0.5``); floats are fine. Boxes are ``BBox(x0, y0, x1, y1)`` with
exclusive ends, so ``mask[box.slices]`` is the box.

Every tool returns a new mask, except ``draw_stroke`` which paints *in place* and returns the box it
changed, for interactive painting (it only touches each segment's neighbourhood)::

    box = draw_stroke(mask, [(10, 10), (40, 25)], radius=8, hardness=0.7)          # brush
    box = draw_stroke(mask, [(40, 25)], radius=8, erase=True)                        # eraser dab
    mask = fill_rect(mask, 0, 0, 100, 50)          # exactly 100 × 50 pixels
    mask = feather(expand(mask, 4), 6)             # pixels deeper than 6 inside stay 255
    hull = convex_hull(mask); box = mask_bbox(mask)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

Point = tuple[float, float]


class BBox(NamedTuple):
    """A box of pixels ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return self.width * self.height

    def union(self, other: BBox | None) -> BBox:
        if other is None:
            return self
        return BBox(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )


def _check(mask: np.ndarray) -> None:
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"a mask is uint8 (H, W), not {mask.dtype} {mask.shape}")


def _clip_box(x0: float, y0: float, x1: float, y1: float, shape: tuple[int, ...]) -> BBox | None:
    h, w = shape[:2]
    box = BBox(
        max(0, int(np.floor(x0))),
        max(0, int(np.floor(y0))),
        min(w, int(np.ceil(x1))),
        min(h, int(np.ceil(y1))),
    )
    return box if box.x0 < box.x1 and box.y0 < box.y1 else None


def stroke_bbox(points: Sequence[Point], radius: float, shape: tuple[int, ...]) -> BBox | None:
    """The pixels a stroke along ``points`` can touch (None when it misses the mask)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    lo, hi = pts.min(axis=0) - radius, pts.max(axis=0) + radius + 1
    return _clip_box(lo[0], lo[1], hi[0], hi[1], shape)


def _segment_alpha(box: BBox, p0: np.ndarray, p1: np.ndarray, radius: float, hardness: float) -> np.ndarray:
    """Coverage 0..255 of a capsule around segment p0–p1 over ``box``: 255 up to radius·hardness,
    smooth fall-off to 0 at radius."""
    ys, xs = np.mgrid[box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)
    d = p1 - p0
    length2 = float(d @ d)
    if length2 > 0:
        t = np.clip(((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / length2, 0.0, 1.0)
        dist = np.hypot(xs - (p0[0] + t * d[0]), ys - (p0[1] + t * d[1]))
    else:
        dist = np.hypot(xs - p0[0], ys - p0[1])
    inner = radius * float(np.clip(hardness, 0.0, 1.0))
    if radius - inner < 1e-6:
        return np.where(dist <= radius, 255, 0).astype(np.uint8)
    t = np.clip((radius - dist) / (radius - inner), 0.0, 1.0)
    return np.rint(255.0 * t * t * (3.0 - 2.0 * t)).astype(np.uint8)


def draw_stroke(
    mask: np.ndarray, points: Sequence[Point], radius: float, hardness: float = 1.0, erase: bool = False
) -> BBox | None:
    """Paint (or erase) a round brush along the polyline ``points``, in place; returns the changed box.

    Painting keeps the larger value (overlapping dabs do not build up), erasing the smaller, so a stroke
    drawn segment by segment equals the same stroke drawn at once.
    """
    _check(mask)
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    if len(pts) == 0 or radius <= 0:
        return None
    changed: BBox | None = None
    segments = itertools.pairwise(pts) if len(pts) > 1 else [(pts[0], pts[0])]
    for p0, p1 in segments:
        box = stroke_bbox([tuple(p0), tuple(p1)], radius, mask.shape)
        if box is None:
            continue
        alpha = _segment_alpha(box, p0, p1, radius, hardness)
        region = mask[box.slices]
        if erase:
            np.minimum(region, 255 - alpha, out=region)
        else:
            np.maximum(region, alpha, out=region)
        changed = box.union(changed)
    return changed


def brush(mask: np.ndarray, points: Sequence[Point], radius: float, hardness: float = 1.0) -> np.ndarray:
    """A new mask with a brush stroke along ``points``."""
    out = mask.copy()
    draw_stroke(out, points, radius, hardness)
    return out


def eraser(mask: np.ndarray, points: Sequence[Point], radius: float, hardness: float = 1.0) -> np.ndarray:
    """A new mask with an eraser stroke along ``points``."""
    out = mask.copy()
    draw_stroke(out, points, radius, hardness, erase=True)
    return out


def fill_polygon(mask: np.ndarray, points: Sequence[Point], value: int = 255) -> np.ndarray:
    """Fill the polygon through ``points`` (vertices rounded to pixels, edges included)."""
    _check(mask)
    out = mask.copy()
    pts = np.rint(np.asarray(points, np.float64)).astype(np.int32).reshape(-1, 1, 2)
    if len(pts):
        cv2.fillPoly(out, [pts], int(value), lineType=cv2.LINE_8)
    return out


def fill_rect(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int, value: int = 255) -> np.ndarray:
    """Fill ``x0 <= x < x1, y0 <= y < y1`` (corners in any order, clipped to the mask)."""
    _check(mask)
    out = mask.copy()
    box = _clip_box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), mask.shape)
    if box is not None:
        out[box.slices] = value
    return out


def flood_fill(mask: np.ndarray, x: int, y: int, value: int = 255, tolerance: int = 0) -> np.ndarray:
    """Fill the 4-connected region around ``(x, y)`` whose values are within ``tolerance`` of the seed's."""
    _check(mask)
    out = mask.copy()
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h):
        return out
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE
    cv2.floodFill(
        out, np.zeros((h + 2, w + 2), np.uint8), (int(x), int(y)), int(value), tolerance, tolerance, flags
    )
    return out


def binarize(mask: np.ndarray, threshold: int = 128) -> np.ndarray:
    """255 where ``mask >= threshold``, else 0."""
    return np.where(mask >= threshold, 255, 0).astype(np.uint8)


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften the edge over ``radius`` pixels on each side (a smooth ramp of the signed distance to the
    edge): pixels deeper than ``radius`` inside stay 255, pixels farther than ``radius`` outside stay 0."""
    _check(mask)
    inside = mask >= 128
    box = mask_bbox(inside.view(np.uint8))
    if radius <= 0 or box is None or inside.all():
        return binarize(mask)
    # Only the band around the mask can change: work on its box plus a margin (fast for small masks).
    m = int(np.ceil(radius)) + 2
    crop = _clip_box(box.x0 - m, box.y0 - m, box.x1 + m, box.y1 + m, mask.shape)
    assert crop is not None
    sub = inside[crop.slices]
    d_in = cv2.distanceTransform(sub.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    d_out = cv2.distanceTransform((~sub).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    signed = np.where(sub, d_in - 0.5, 0.5 - d_out)  # the edge lies half a pixel outside the inside
    t = np.clip(0.5 + signed / (2.0 * radius), 0.0, 1.0)
    out = np.zeros_like(mask)
    out[crop.slices] = np.rint(255.0 * t * t * (3.0 - 2.0 * t)).astype(np.uint8)
    return out


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def expand(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow the mask by ``radius`` pixels (dilation with a disk)."""
    _check(mask)
    return mask.copy() if radius <= 0 else cv2.dilate(mask, _disk(int(radius)))


def shrink(mask: np.ndarray, radius: int) -> np.ndarray:
    """Shrink the mask by ``radius`` pixels (erosion with a disk; the frame's border does not erode)."""
    _check(mask)
    return mask.copy() if radius <= 0 else cv2.erode(mask, _disk(int(radius)))


def mask_bbox(mask: np.ndarray) -> BBox | None:
    """The box around every non-zero pixel (None for an empty mask)."""
    _check(mask)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return BBox(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def bounding_box(mask: np.ndarray) -> np.ndarray:
    """The mask's bounding box, filled with 255."""
    out = np.zeros_like(mask)
    box = mask_bbox(mask)
    if box is not None:
        out[box.slices] = 255
    return out


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The convex hull of every non-zero pixel, filled with 255 (two dots give the line between them)."""
    _check(mask)
    out = np.zeros_like(mask)
    pts = cv2.findNonZero(mask)
    if pts is not None:
        hull = cv2.convexHull(pts)
        cv2.fillConvexPoly(out, hull, 255, lineType=cv2.LINE_8)
        cv2.polylines(out, [hull], True, 255, lineType=cv2.LINE_8)  # degenerate hulls (a dot, a line)
    return out


def invert(mask: np.ndarray) -> np.ndarray:
    _check(mask)
    return 255 - mask


def clear(mask: np.ndarray) -> np.ndarray:
    return np.zeros_like(mask)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Set to 255 every zero pixel that the frame's border cannot reach through zero pixels."""
    _check(mask)
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = (mask > 0).astype(np.uint8)
    cv2.floodFill(padded, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 2, 0, 0, 4)
    out = mask.copy()
    out[padded[1:-1, 1:-1] == 0] = 255
    return out


def changed_bbox(before: np.ndarray, after: np.ndarray) -> BBox | None:
    """The box around every pixel that differs (None when the masks are equal)."""
    if before.shape != after.shape:
        raise ValueError(f"masks of different shapes: {before.shape} and {after.shape}")
    return mask_bbox((before != after).view(np.uint8))
