"""Keyframe propagation (add / modify) with the flow engine: edited pixels follow the surface they are on."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from flow_helpers import FakeContext, far_from, read_rgb, write_masks

from model_runtime.engines.flow import FlowEngine
from vivid_desktop.protocol.jobs import KeyframeSpec, RenderPlan

X0, Y0, SIZE = 100, 14, 12  # the patch on keyframe 0: on the background, clear of the object
GREEN, BLUE = (0, 255, 0), (0, 0, 255)


def patch_position(pan, n: int) -> tuple[float, float]:
    """Where the patch's centre is in frame ``n``: the background moves by minus the pan velocity."""
    vx, vy = pan.scene.velocity
    return X0 + (SIZE - 1) / 2 - vx * n, Y0 + (SIZE - 1) / 2 - vy * n


def with_patch(frame: np.ndarray, centre: tuple[float, float], colour) -> np.ndarray:
    out = frame.copy()
    x, y = round(centre[0] - (SIZE - 1) / 2), round(centre[1] - (SIZE - 1) / 2)
    out[y : y + SIZE, x : x + SIZE] = colour
    return out


def patch_masks(pan, folder):
    """Per-frame masks around the patch's true path (as the tracker would give), grown by 4 px."""
    masks = {}
    for n in range(24):
        mask = np.zeros((96, 160), np.uint8)
        cx, cy = patch_position(pan, n)
        r = SIZE // 2 + 4
        mask[max(0, round(cy) - r) : round(cy) + r + 1, max(0, round(cx) - r) : round(cx) + r + 1] = 255
        masks[n] = mask
    return masks, write_masks(folder, masks)


def found(frame: np.ndarray, colour, where: np.ndarray) -> np.ndarray:
    """Pixels inside ``where`` close to ``colour``: the patch in an output frame."""
    return (np.abs(frame.astype(np.int32) - np.array(colour)).sum(axis=2) < 90) & (where > 0)


def run(pan, tmp_path, keyframes: dict[int, np.ndarray], task="add"):
    masks, mask_dir = patch_masks(pan, tmp_path / "masks")
    specs = []
    for n, image in keyframes.items():
        path = tmp_path / f"key{n}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        specs.append(KeyframeSpec(frame=n, mask=str(mask_dir / f"{n:06d}.png"), image=str(path)))
    out = tmp_path / "render"
    plan = RenderPlan(
        source=str(pan.clip),
        start=0,
        stop=24,
        mask_dir=str(mask_dir),
        keyframes=specs,
        task=task,
        output_dir=str(out),
        settings={"cache_dir": str(tmp_path / "cache")},
    )
    ctx = FakeContext()
    FlowEngine().propagate(plan, ctx)
    assert ctx.frames == list(range(24))
    return masks, [read_rgb(out / f"{n:06d}.png") for n in range(24)]


def test_a_patch_pasted_on_a_keyframe_follows_the_moving_surface(pan, tmp_path):
    key = with_patch(pan.scene.frames[0], patch_position(pan, 0), GREEN)
    masks, frames = run(pan, tmp_path, {0: key})
    for n, frame in enumerate(frames):
        hit = found(frame, GREEN, masks[n])
        assert hit.sum() >= 0.7 * SIZE * SIZE, f"frame {n}: the patch faded or broke up"
        ys, xs = np.nonzero(hit)
        ex, ey = patch_position(pan, n)
        assert abs(xs.mean() - ex) <= 2 and abs(ys.mean() - ey) <= 2, f"frame {n}: {xs.mean(), ys.mean()}"
        far = far_from(masks[n], 3 + 1)
        np.testing.assert_array_equal(frame[far], pan.scene.frames[n][far])
    np.testing.assert_array_equal(frames[0][masks[0] > 0], key[masks[0] > 0])


@pytest.mark.parametrize("task", ["add", "modify"])
def test_two_keyframes_are_blended_by_distance(pan, tmp_path, task):
    first = with_patch(pan.scene.frames[0], patch_position(pan, 0), GREEN)
    last = with_patch(pan.scene.frames[23], patch_position(pan, 23), BLUE)
    masks, frames = run(pan, tmp_path, {0: first, 23: last}, task)
    np.testing.assert_array_equal(frames[23][masks[23] > 0], last[masks[23] > 0])
    share = []  # how green (vs blue) the patch is, frame by frame
    for n, frame in enumerate(frames):
        cx, cy = (round(v) for v in patch_position(pan, n))
        core = frame[cy - 3 : cy + 4, cx - 3 : cx + 4].reshape(-1, 3).astype(float)
        assert core[:, 0].mean() < 40  # a mix of green and blue, nothing else
        share.append(core[:, 1].mean() / (core[:, 1].mean() + core[:, 2].mean()))
    assert share[0] > 0.95 and share[23] < 0.05
    assert all(a >= b - 0.02 for a, b in itertools.pairwise(share))  # fades steadily
    assert 0.3 < share[12] < 0.7
