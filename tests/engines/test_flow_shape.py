"""The anchor's shape moved by the object's overall motion: fitted robustly, and bringing back what an
occluder took from the flow-moved mask."""

from __future__ import annotations

import cv2
import numpy as np
from flow_helpers import iou

from model_runtime.engines.flow import shape
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.shape import ShapePrior, object_motion
from model_runtime.engines.flow.track import track_masks
from vivid_desktop.media.clip_frames import ArrayFrames


def similarity(angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


def flow_of(motion: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    ys, xs = np.mgrid[: shape_hw[0], : shape_hw[1]].astype(np.float32)
    pts = np.stack([xs, ys, np.ones_like(xs)], axis=-1)
    return (pts @ motion.T.astype(np.float32) - pts[..., :2]).astype(np.float32)


def test_the_fit_follows_the_body_not_a_limb_moving_its_own_way():
    prob = np.zeros((120, 160), np.float32)
    prob[30:90, 50:100] = 1.0  # the body
    prob[40:50, 100:140] = 1.0  # an arm, a fifth of the body's size
    truth = similarity(0.05, 1.03, (3.0, -2.0))
    flow = flow_of(truth, prob.shape)
    flow[40:50, 100:140] += (0.0, 9.0)  # the arm swings down
    fit = object_motion(prob, flow)
    assert fit is not None
    np.testing.assert_allclose(fit, truth, atol=0.02)


def test_the_shape_accumulates_steps_and_is_dropped_once_the_object_is_lost():
    anchor = np.zeros((100, 140), np.float32)
    anchor[30:60, 20:50] = 1.0
    prior = ShapePrior(anchor)
    step = flow_of(similarity(0.0, 1.0, (5.0, 2.0)), anchor.shape)
    prob = anchor
    for _ in range(4):
        prior.advance(prob, step)
        prob = prior.moved()
    assert prob is not None
    assert iou(prob > 0.5, np.roll(np.roll(anchor, 8, 0), 20, 1) > 0.5) > 0.95
    prior.advance(np.zeros_like(anchor), step)  # nothing confident left to follow
    assert prior.moved() is None
    np.testing.assert_array_equal(prior.blend(anchor), anchor)


def post_scene(n: int = 30, width: int = 200, height: int = 120):
    """A textured red object moving right behind a green post taller than the frame and 12 px wide."""
    rng = np.random.default_rng(3)
    ground = cv2.resize(rng.integers(0, 255, (height // 6, width // 6, 3), np.uint8), (width, height))
    ground = (ground * 0.5 + 60).astype(np.uint8)
    spots = cv2.resize(rng.integers(0, 80, (8, 6, 3), np.uint8), (30, 40), interpolation=cv2.INTER_NEAREST)
    body = np.clip(spots + np.array([170, 40, 30]), 0, 255).astype(np.uint8)
    frames, masks = [], []
    for t in range(n):
        frame, mask = ground.copy(), np.zeros((height, width), np.uint8)
        x = 20 + 4 * t
        frame[40:80, x : x + 30], mask[40:80, x : x + 30] = body, 255
        frame[:, 90:102], mask[:, 90:102] = (40, 160, 60), 0
        frames.append(frame)
        masks.append(mask)
    return frames, masks


def test_an_object_passing_behind_a_post_is_found_again(monkeypatch):
    frames, masks = post_scene()

    def behind_the_post() -> list[float]:
        got = dict(track_masks(ClipFlow(ArrayFrames(frames)), {0: masks[0]}, 0, len(frames)))
        return [iou(got[t], masks[t]) for t in range(14, 21)]

    held = behind_the_post()
    assert np.mean(held) >= 0.8 and min(held) >= 0.6, np.round(held, 2)
    monkeypatch.setattr(shape, "SHAPE_SHARE", 0.0)  # the flow-moved mask alone loses what the post hid
    assert np.mean(behind_the_post()) < np.mean(held) - 0.1
