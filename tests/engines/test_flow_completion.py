"""Flow completion inside a hole: a camera's projective motion is recovered, mixed motion stays sane."""

from __future__ import annotations

import numpy as np
import pytest

from model_runtime.engines.flow.completion import complete_flow, push_pull
from model_runtime.engines.flow.fill import FLOW_HOLE_GROW, FLOW_HOLE_SHARE, work_hole
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.masks import grow
from vivid_desktop.media.clip_frames import ArrayFrames

H, W = 120, 160


def _field(model: np.ndarray) -> np.ndarray:
    """The displacement a 3 × 3 ``model`` gives every pixel of an H × W frame."""
    ys, xs = np.mgrid[:H, :W].astype(np.float64)
    p = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ model.T
    return np.dstack([p[..., 0] / p[..., 2] - xs, p[..., 1] / p[..., 2] - ys]).astype(np.float32)


def _hole() -> np.ndarray:
    hole = np.zeros((H, W), bool)
    yy, xx = np.mgrid[:H, :W]
    hole[((yy - 58) / 30) ** 2 + ((xx - 75) / 42) ** 2 < 1] = True  # an object-sized ellipse
    return hole


MODELS = {
    # a hand-held camera: a little rotation and zoom, a pan (the flow varies by ~3 px across the hole)
    "affine": np.array([[1.02, -0.015, -2.0], [0.012, 1.015, 1.5], [0, 0, 1]]),
    # and a perspective part (turning towards a wall)
    "homography": np.array([[1.01, 0.01, -1.0], [-0.008, 1.02, 0.5], [1.2e-4, -8e-5, 1.0]]),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_cameras_motion_is_recovered_inside_the_hole(kind):
    flow = _field(MODELS[kind])
    hole = _hole()
    broken = flow.copy()
    broken[hole] = (6.0, -3.0)  # the removed object's own motion
    done = complete_flow(broken, hole)
    np.testing.assert_array_equal(done[~hole], flow[~hole])
    error = np.linalg.norm(done[hole] - flow[hole], axis=1)
    smooth = np.linalg.norm(push_pull(broken, hole)[hole] - flow[hole], axis=1)
    assert error.max() < 0.02
    assert smooth.mean() > 10 * error.mean()  # the plain interpolation bends a projective field


def test_a_ring_that_shows_the_object_smeared_into_it_is_not_followed():
    # DIS drags the object's motion into part of the ring: the fit takes the background's majority.
    flow = _field(MODELS["affine"])
    hole = _hole()
    broken = flow.copy()
    broken[hole] = (6.0, -3.0)
    smear = np.zeros_like(hole)
    smear[20:95, 110:128] = True  # a strip of the ring on the object's side
    broken[smear & ~hole] = (5.0, -2.5)
    done = complete_flow(broken, hole)
    assert np.linalg.norm(done[hole] - flow[hole], axis=1).max() < 0.02


def test_two_motions_around_the_hole_give_a_sane_field():
    # Left of x = 75 the background pans right, right of it a wall moves up-left: no single motion.
    flow = np.zeros((H, W, 2), np.float32)
    flow[:, :75] = (3.0, 0.0)
    flow[:, 75:] = (-1.0, -2.0)
    hole = _hole()
    broken = flow.copy()
    broken[hole] = (40.0, 40.0)
    done = complete_flow(broken, hole)
    np.testing.assert_array_equal(done[~hole], flow[~hole])
    inside = done[hole]
    assert np.isfinite(inside).all()
    # One of the motions around it (the fit takes the side with more of the ring), never the object's.
    sides = np.array([(3.0, 0.0), (-1.0, -2.0)], np.float32)
    nearest = np.linalg.norm(inside[:, None] - sides[None], axis=2).min(axis=1)
    assert nearest.max() < 0.05


def test_only_the_needed_pixels_are_completed():
    flow = _field(MODELS["affine"])
    hole = _hole()
    broken = flow.copy()
    broken[hole] = (6.0, -3.0)
    needed = np.zeros_like(hole)
    needed[50:66, 60:90] = True
    done = complete_flow(broken, hole, needed)
    np.testing.assert_array_equal(done[hole & ~needed], broken[hole & ~needed])
    assert np.linalg.norm(done[hole & needed] - flow[hole & needed], axis=1).max() < 0.02


def test_separate_parts_of_a_hole_take_their_own_surroundings_motion():
    flow = np.zeros((H, W, 2), np.float32)
    flow[:, :80] = (2.0, 1.0)
    flow[:, 80:] = (-3.0, 0.5)
    hole = np.zeros((H, W), bool)
    hole[40:70, 15:50] = True
    hole[40:70, 110:145] = True
    broken = flow.copy()
    broken[hole] = (9.0, 9.0)
    done = complete_flow(broken, hole)
    np.testing.assert_allclose(done[40:70, 15:50], np.broadcast_to((2.0, 1.0), (30, 35, 2)), atol=1e-3)
    np.testing.assert_allclose(done[40:70, 110:145], np.broadcast_to((-3.0, 0.5), (30, 35, 2)), atol=1e-3)


def test_a_hole_with_almost_no_surroundings_falls_back_to_interpolation():
    flow = np.dstack([np.full((H, W), 1.5, np.float32), np.full((H, W), -0.5, np.float32)])
    hole = np.ones((H, W), bool)
    hole[0, :3] = False  # three known pixels: too few for a fit
    broken = flow.copy()
    broken[hole] = (7.0, 7.0)
    done = complete_flow(broken, hole)
    np.testing.assert_allclose(done[hole], np.broadcast_to((1.5, -0.5), done[hole].shape), atol=1e-4)


def _grid(width: int, height: int) -> np.ndarray:
    """A 5 × 3 grid of squares 8 % of the width, like the removal benchmark's."""
    area = np.zeros((height, width), bool)
    side = round(0.08 * width)
    for gx in range(5):
        for gy in range(3):
            x, y = round((gx + 0.5) * width / 5 - side / 2), round((gy + 0.5) * height / 3 - side / 2)
            area[y : y + side, x : x + side] = True
    return grow(area, 7)  # the engine's growth for the composite (dilate 3, feather band 4)


def test_a_dense_grid_of_holes_grows_less_and_keeps_a_ring_to_fit():
    flows = ClipFlow(ArrayFrames([np.zeros((270, 480, 3), np.uint8)] * 2))
    area = _grid(480, 270)
    full = max(4, round(480 * FLOW_HOLE_GROW))
    assert flows.hole_to_work(area, full).mean() > 0.95  # grown in full, the squares merge into one hole
    hole, needed = work_hole(flows, area)
    assert hole.mean() <= FLOW_HOLE_SHARE and (hole >= area).all() and (needed >= area).all()
    ys, xs = np.mgrid[:270, :480].astype(np.float32)
    flow = np.dstack([2.0 + 0.004 * xs - 0.003 * ys, -1.0 + 0.002 * xs + 0.005 * ys]).astype(np.float32)
    broken = flow.copy()
    broken[hole] = (0.0, 0.0)  # still squares over a moving camera
    done = complete_flow(broken, hole, needed)
    assert np.abs(done[area] - flow[area]).max() < 0.05


def test_a_single_hole_grows_in_full():
    flows = ClipFlow(ArrayFrames([np.zeros((270, 480, 3), np.uint8)] * 2))
    area = np.zeros((270, 480), bool)
    area[100:160, 200:240] = True
    hole, _ = work_hole(flows, area)
    full = max(4, round(480 * FLOW_HOLE_GROW))
    np.testing.assert_array_equal(hole, flows.hole_to_work(area, full))
