"""Mask tools with exact expectations."""

from __future__ import annotations

import time

import numpy as np
import pytest

from vivid_desktop.core import masks as M
from vivid_desktop.core.masks import BBox


def blank(h: int = 60, w: int = 80) -> np.ndarray:
    return np.zeros((h, w), np.uint8)


def disk_count(r: int) -> int:
    return sum(1 for x in range(-r, r + 1) for y in range(-r, r + 1) if x * x + y * y <= r * r)


def test_rectangle_has_exact_pixel_count_and_clips():
    m = M.fill_rect(blank(), 5, 6, 25, 16)
    assert int((m == 255).sum()) == 20 * 10 and M.mask_bbox(m) == BBox(5, 6, 25, 16)
    assert np.array_equal(M.fill_rect(blank(), 25, 16, 5, 6), m)  # corners in any order
    assert int((M.fill_rect(blank(), -10, -10, 3, 2) == 255).sum()) == 3 * 2
    assert not M.fill_rect(blank(), 90, 0, 100, 10).any()


def test_hard_dab_is_a_disk_and_the_stroke_returns_its_box():
    m = blank()
    box = M.draw_stroke(m, [(40, 30)], radius=5)
    assert int((m == 255).sum()) == disk_count(5) and set(np.unique(m)) == {0, 255}
    assert box == BBox(35, 25, 46, 36) and M.mask_bbox(m) == box


def test_stroke_covers_a_capsule_and_segments_equal_the_whole_stroke():
    pts = [(10, 10), (50, 10), (50, 40)]
    whole = M.brush(blank(), pts, radius=3, hardness=0.5)
    pieces = blank()
    M.draw_stroke(pieces, pts[:2], 3, 0.5)
    M.draw_stroke(pieces, pts[1:], 3, 0.5)
    assert np.array_equal(whole, pieces)
    hard = M.brush(blank(), [(10, 10), (50, 10)], radius=3)
    # a 41 × 7 band plus two half-disks of radius 3 (without their middle column)
    assert int((hard == 255).sum()) == 41 * 7 + 2 * (disk_count(3) - 7) // 2
    assert hard[10, 10:51].min() == 255 and hard[7, 30] == 255 and hard[6, 30] == 0 and hard[13, 30] == 255


def test_soft_brush_falls_off_and_eraser_removes():
    m = M.brush(blank(), [(40, 30)], radius=10, hardness=0.5)
    assert m[30, 40] == 255 and m[30, 45] == 255  # inside radius·hardness: full
    assert 0 < m[30, 48] < 255 and m[30, 48] > m[30, 49]  # soft edge, decreasing outward
    assert m[30, 51] == 0
    erased = M.eraser(M.fill_rect(blank(), 0, 0, 80, 60), [(40, 30)], radius=4)
    assert int((erased == 0).sum()) == disk_count(4)


def test_polygon_flood_invert_clear():
    tri = M.fill_polygon(blank(), [(10, 10), (30, 10), (10, 30)])
    assert tri[11, 11] == 255 and tri[29, 29] == 0 and int((tri == 255).sum()) == 21 * 22 // 2
    ring = M.fill_rect(blank(), 10, 10, 40, 40)
    ring = M.fill_rect(ring, 15, 15, 35, 35, value=0)
    inside = M.flood_fill(ring, 20, 20)
    assert int((inside == 255).sum()) == 30 * 30
    assert np.array_equal(M.flood_fill(ring, 0, 0), M.invert(M.fill_rect(blank(), 15, 15, 35, 35)))
    assert np.array_equal(M.invert(M.invert(ring)), ring) and not M.clear(ring).any()


def test_fill_holes_fills_enclosed_zeros_only():
    m = M.fill_rect(blank(), 10, 10, 40, 40)
    m = M.fill_rect(m, 20, 20, 25, 25, value=0)  # a hole
    m = M.fill_rect(m, 0, 50, 5, 55, value=0)  # nothing: touches the border anyway
    filled = M.fill_holes(m)
    assert int((filled == 255).sum()) == 30 * 30 and M.fill_holes(blank()).sum() == 0


def test_expand_and_shrink():
    dot = blank()
    dot[30, 40] = 255
    assert int((M.expand(dot, 4) == 255).sum()) == int((M._disk(4) > 0).sum())
    square = M.fill_rect(blank(), 20, 20, 40, 40)
    assert M.mask_bbox(M.shrink(square, 3)) == BBox(23, 23, 37, 37)
    assert M.mask_bbox(M.expand(square, 3)) == BBox(17, 17, 43, 43)
    edge = M.fill_rect(blank(), 0, 0, 10, 60)
    assert M.mask_bbox(M.shrink(edge, 2)) == BBox(0, 0, 8, 60)  # the frame's border does not erode


def test_hull_of_two_dots_is_the_line_between_them_and_bbox():
    m = blank()
    m[10, 10] = m[10, 20] = 255
    hull = M.convex_hull(m)
    assert int((hull == 255).sum()) == 11 and hull[10, 10:21].min() == 255
    m[30, 10] = 255
    tri = M.convex_hull(m)
    ys, xs = np.nonzero(tri)
    inside = [(x, y) for x in range(10, 21) for y in range(10, 31) if (x - 10) / 10 + (y - 10) / 20 <= 1]
    assert all(tri[y, x] == 255 for x, y in inside) and len(inside) == 121
    assert len(xs) <= 121 + 21 and max((xs - 10) / 10 + (ys - 10) / 20) <= 1.1  # at most the edge's pixels
    box = M.bounding_box(m)
    assert int((box == 255).sum()) == 11 * 21 and M.mask_bbox(m) == BBox(10, 10, 21, 31)
    assert M.mask_bbox(blank()) is None and not M.convex_hull(blank()).any()


def test_feather_keeps_the_inside_and_the_far_outside():
    square = M.fill_rect(blank(), 20, 15, 60, 45)
    f = M.feather(square, 5)
    inner = M.shrink(square, 6)
    assert (f[inner == 255] == 255).all()  # deeper than the radius: still 255
    outer = M.expand(square, 6)
    assert (f[outer == 0] == 0).all()  # farther than the radius: still 0
    row = f[30, 10:30].astype(int)
    assert (np.diff(row) >= 0).all() and 0 < row[9] < 255  # a monotone ramp across the edge
    assert np.array_equal(M.feather(square, 0), square)


def test_changed_bbox_and_validation():
    a = blank()
    b = a.copy()
    b[5, 7] = 1
    b[9, 3] = 1
    assert M.changed_bbox(a, b) == BBox(3, 5, 8, 10) and M.changed_bbox(a, a) is None
    with pytest.raises(ValueError, match="uint8"):
        M.invert(np.zeros((4, 4), np.float32))


@pytest.mark.perf
def test_strokes_are_interactive_on_1080p():
    mask = np.zeros((1080, 1920), np.uint8)
    t = time.perf_counter()
    for i in range(50):  # one pointer move each, radius 60
        M.draw_stroke(mask, [(300 + 8 * i, 500), (308 + 8 * i, 504)], 60, 0.6)
    assert (time.perf_counter() - t) / 50 < 0.008
