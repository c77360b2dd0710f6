"""Removal quality of the flow engine's fill on synthetic clips made here (issue 13).

Each test builds a small scene whose truth is known and checks one behaviour of :class:`DeletionFill`:
copied content takes its level from the frame around the hole (an exposure ramp leaves no seam), a
chain never ends on a pixel inside a hole of the frame it lands in, and a region no frame shows gets
texture (not a blur) that stays put from frame to frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from model_runtime.engines.flow.fill import DeletionFill
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.settings import JobSettings
from vivid_desktop.media.clip_frames import ArrayFrames

W, H, N = 192, 128, 12


def texture(width: int, height: int, seed: int, block: int = 6) -> np.ndarray:
    """Blocky colour noise, smoothed a little: detail the flow can follow and a blur cannot fake."""
    rng = np.random.default_rng(seed)
    small = rng.integers(30, 225, (height // block + 1, width // block + 1, 3), np.uint8)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    return cv2.GaussianBlur(big, (0, 0), 1.0)


def fill_all(frames: list[np.ndarray], areas: list[np.ndarray], **options) -> list[np.ndarray]:
    stack = np.stack(frames)
    flows = ClipFlow(ArrayFrames(frames))
    fill = DeletionFill(flows, stack, areas, 0, **options)
    done: dict[int, np.ndarray] = {}
    for i, out in fill.run(range(len(frames)), lambda i: done.get(i - 1)):
        done[i] = out
    return [done[i] for i in range(len(frames))]


def edge_step_error(outs: list[np.ndarray], truth: list[np.ndarray], area: np.ndarray) -> float:
    """Mean |step across the hole's edge − the true step| (grey levels), over frames and channels."""
    errors = []
    for axis in (0, 1):
        inside = area
        beside = np.roll(area, 1, axis=axis)
        edge = inside & ~beside  # p inside, its neighbour before it (along axis) outside
        for out, t in zip(outs, truth, strict=True):
            o, tt = out.astype(np.float64), t.astype(np.float64)
            step = o - np.roll(o, 1, axis=axis)
            true = tt - np.roll(tt, 1, axis=axis)
            errors.append(np.abs(step - true)[edge].ravel())
    return float(np.mean(np.concatenate(errors)))


def panning_scene(gain_step: float) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """A camera panning 6 px a frame over a texture whose exposure rises ``gain_step`` per frame
    (and flickers);
    a static box in the middle is the hole (what it hides is seen a few frames earlier and later)."""
    world = texture(W + 6 * N + 8, H, seed=5)
    truth = []
    for t in range(N):
        gain = 0.75 + gain_step * t + 0.08 * (t % 2)  # a ramp with flicker: no two frames agree
        frame = world[:, 6 * t : 6 * t + W].astype(np.float32) * gain
        truth.append(np.clip(frame, 0, 255).astype(np.uint8))
    area = np.zeros((H, W), bool)
    area[40:88, 84:108] = True
    shown = []
    for frame in truth:
        f = frame.copy()
        f[area] = (0, 255, 0)
        shown.append(f)
    return shown, truth, area


def test_an_exposure_ramp_leaves_no_seam_at_the_hole_edge():
    shown, truth, area = panning_scene(gain_step=0.03)  # 3 % brighter every frame
    blended = fill_all(shown, [area] * N)
    pasted = fill_all(shown, [area] * N, seamless=False)
    frames = slice(2, N - 2)  # far from the clip's ends the copies come from frames further away
    seam = edge_step_error(blended[frames], truth[frames], area)
    plain = edge_step_error(pasted[frames], truth[frames], area)
    assert plain > 3.0, "the scene must make a visible seam when colours are pasted"
    assert seam < 0.5 * plain
    # And the inside is not worse for it.
    err_b = np.mean([np.abs(b.astype(float) - t)[area].mean() for b, t in zip(blended, truth, strict=True)])
    err_p = np.mean([np.abs(p.astype(float) - t)[area].mean() for p, t in zip(pasted, truth, strict=True)])
    assert err_b < err_p


def test_a_chain_never_ends_inside_a_hole_of_the_frame_it_lands_in():
    """A red object inside every frame's hole moves across a still background; no fill shows red."""
    background = texture(W, H, seed=9)
    frames, areas = [], []
    for t in range(N):
        obj = np.zeros((H, W), np.uint8)
        cv2.circle(obj, (40 + 10 * t, 64), 18, 255, -1)
        frame = background.copy()
        frame[obj > 0] = (255, 0, 0)
        frames.append(frame)
        areas.append(cv2.dilate(obj, np.ones((5, 5), np.uint8)) > 0)
    for out, area in zip(fill_all(frames, areas), areas, strict=True):
        error = np.abs(out[area].astype(int) - background[area])
        assert error.max() < 60  # a pixel of the red object would be off by far more
        assert error.mean() < 3


def test_what_no_frame_shows_gets_steady_texture_not_a_blur():
    """A still camera and a still hole: nothing behind it is ever seen, so the fill is made up once."""
    background = texture(W, H, seed=3)
    area = np.zeros((H, W), bool)
    area[44:84, 76:116] = True
    shown = background.copy()
    shown[area] = (0, 255, 0)
    outs = fill_all([shown] * N, [area] * N)
    telea = cv2.inpaint(shown, area.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)

    def detail(image: np.ndarray) -> float:
        """Mean local contrast: |image − its 5×5 blur| inside the hole's middle."""
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        core = area & (cv2.erode(area.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0)
        return float(np.abs(grey - cv2.blur(grey, (5, 5)))[core].mean())

    assert detail(outs[0]) > 2.0 * detail(telea)
    assert detail(outs[0]) > 0.5 * detail(background)
    for out in outs[1:]:  # carried along the (still) flow: it stays put
        assert np.abs(out.astype(int) - outs[0])[area].mean() < 2.0


def test_the_blend_is_a_setting_on_by_default(tmp_path):
    assert JobSettings.parse({}, "delete", tmp_path / "out").seamless
    assert not JobSettings.parse({"seamless": 0}, "delete", tmp_path / "out").seamless


def test_a_moving_hole_over_a_still_scene_gives_a_fill_as_steady_as_the_scene():
    """A still camera with sensor noise; a disc moves across it. Where the hole is in two successive
    frames, the fill changes from one to the next no more than the scene itself does there."""
    background = texture(W, H, seed=11)
    rng = np.random.default_rng(4)
    truth, shown, areas = [], [], []
    for t in range(N):
        noisy = np.clip(background + rng.normal(0, 2.0, background.shape), 0, 255).astype(np.uint8)
        hole = np.zeros((H, W), np.uint8)
        cv2.circle(hole, (50 + 8 * t, 60 + (t % 3)), 20, 255, -1)
        area = cv2.dilate(hole, np.ones((7, 7), np.uint8)) > 0
        frame = noisy.copy()
        frame[hole > 0] = (40, 200, 60)
        truth.append(noisy)
        shown.append(frame)
        areas.append(area)
    outs = fill_all(shown, areas)
    ours, scene = [], []
    for t in range(N - 1):
        both = areas[t] & areas[t + 1]
        ours.append(np.abs(outs[t + 1].astype(int) - outs[t])[both].mean())
        scene.append(np.abs(truth[t + 1].astype(int) - truth[t])[both].mean())
        assert np.abs(outs[t].astype(int) - truth[t])[areas[t]].mean() < 6  # and it is the scene
    assert np.mean(ours) <= np.mean(scene)
