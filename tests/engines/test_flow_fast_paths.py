"""The deletion's fast paths (issue 13, speed) give what the plain computation gives, pixel for pixel.

Each fast path works on less than the whole frame (a bounding box, a subsampled fixed-point flow, a
contiguous crop copied by OpenCV) or on more threads; these tests hold it to the obvious whole-frame,
one-thread computation it replaced, on inputs that reach the frame's borders.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_runtime.engines.composite import composite as fast_composite
from model_runtime.engines.composite import feather_alpha
from model_runtime.engines.flow.cache import dequantize
from model_runtime.engines.flow.crop import largest_motion
from model_runtime.engines.flow.fill import DeletionFill, work_hole
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.frames import FrameWriter
from model_runtime.engines.flow.masks import grow
from vivid_desktop.media.clip_frames import ArrayFrames
from vivid_desktop.media.synth import pan_scene
from vivid_desktop.protocol.errors import JobError
from vivid_desktop.render_folder import read_image


def plain_grow(region: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0 or not region.any():
        return region
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(region.astype(np.uint8), kernel) > 0


def plain_composite(source: np.ndarray, edited: np.ndarray, mask: np.ndarray, feather: int) -> np.ndarray:
    """The composite over the whole frame with boolean indexing (what the fast one replaced)."""
    out = source.copy()
    alpha = feather_alpha(mask, feather)
    whole = alpha >= 1.0
    out[whole] = edited[whole]
    sel = (alpha > 0) & ~whole
    src = source[sel].astype(np.float32)
    mixed = src + alpha[sel][:, None] * (edited[sel].astype(np.float32) - src)
    out[sel] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out


def regions(seed: int, shape: tuple[int, int]) -> np.ndarray:
    """A few boxes (some cut by the frame's border) or scattered pixels."""
    rng = np.random.default_rng(seed)
    h, w = shape
    if seed % 4 == 0:
        return rng.random(shape) < 0.01
    region = np.zeros(shape, bool)
    for _ in range(rng.integers(0, 4)):
        y, x = rng.integers(-4, h), rng.integers(-4, w)
        region[max(0, y) : y + rng.integers(1, 12), max(0, x) : x + rng.integers(1, 12)] = True
    return region


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**16), pixels=st.sampled_from([0, 1, 3, 4, 9]), h=st.integers(1, 50))
def test_growing_in_the_bounding_box_equals_dilating_the_whole_frame(seed, pixels, h):
    region = regions(seed, (h, 47))
    np.testing.assert_array_equal(grow(region, pixels), plain_grow(region, pixels))
    np.testing.assert_array_equal(grow(region[:, ::2], pixels), plain_grow(region[:, ::2], pixels))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), feather=st.integers(0, 6), soft=st.booleans())
def test_the_composite_equals_the_whole_frame_one(seed, feather, soft):
    rng = np.random.default_rng(seed)
    source, edited = (rng.integers(0, 256, (41, 57, 3), dtype=np.uint8) for _ in range(2))
    mask = regions(seed, (41, 57)).astype(np.uint8) * 255
    if soft:  # soft values: a blend inside the mask too (feather 0)
        mask = (mask > 0) * rng.integers(1, 256, mask.shape).astype(np.uint8)
    np.testing.assert_array_equal(
        fast_composite(source, edited, mask, feather), plain_composite(source, edited, mask, feather)
    )


@pytest.fixture(scope="module")
def scene():
    return pan_scene(n_frames=8, width=160, height=96, seed=2)


def test_largest_motion_equals_the_percentile_of_the_float_flows(scene):
    flows = ClipFlow(ArrayFrames(scene.frames))
    flows.ensure(0, 8)
    scale = np.array(flows.scale, np.float32)
    expected = max(
        float(np.percentile((np.abs(f[::2, ::2]).reshape(-1, 2) * scale).max(axis=1), 99.9))
        for t in range(7)
        for f in (flows.forward(t), flows.backward(t))
    )
    assert largest_motion(flows, 0, 8) == expected > 0
    assert all(
        np.array_equal(dequantize(q), flows.forward(3) if k == 0 else flows.backward(3))
        for k, q in enumerate(flows.fixed(3))
    )


def test_holes_made_beforehand_give_the_same_fill(scene):
    frames = scene.frames
    areas = [grow(m > 0, 4) for m in scene.masks]
    flows = ClipFlow(ArrayFrames(frames))
    outputs: list[dict[int, np.ndarray]] = []
    for holes in (None, [work_hole(flows, a) for a in areas]):
        fill = DeletionFill(flows, np.stack(frames), areas, 0, holes=holes)
        done: dict[int, np.ndarray] = {}
        outputs.append(done)
        for i, out in fill.run(range(len(frames)), lambda i: outputs[-1].get(i - 1)):
            done[i] = out
    for i in range(len(frames)):
        np.testing.assert_array_equal(outputs[0][i], outputs[1][i])


def frame(value: int) -> np.ndarray:
    return np.full((6, 8, 3), value, np.uint8)


def test_the_writer_announces_in_order_once_each_frame_is_on_disk(tmp_path):
    seen = []

    def done(t, path, image):
        assert path.is_file()
        seen.append(t)

    with FrameWriter(done, workers=2) as writer:
        for t in range(9):
            writer.put(t, tmp_path / f"{t:06d}.png", frame(10 * t))
    assert seen == list(range(9))
    assert all(read_image(tmp_path / f"{t:06d}.png", (6, 8))[0, 0, 0] == 10 * t for t in range(9))


def test_after_a_failed_write_nothing_later_is_announced_or_left_on_disk(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    seen = []
    paths = [tmp_path / f"{t:06d}.png" for t in range(6)]
    paths[2] = blocker / "000002.png"
    with pytest.raises(JobError) as failed, FrameWriter(lambda t, p, i: seen.append(t), workers=2) as writer:
        for t, path in enumerate(paths):
            writer.put(t, path, frame(t))
    assert failed.value.code == "write_failed"
    assert seen == [0, 1]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["000000.png", "000001.png"]
