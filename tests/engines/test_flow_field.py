"""Optical flow, its cache and hole completion."""

from __future__ import annotations

import os

import numpy as np
import pytest

from model_runtime.engines.flow.cache import FlowCache, cache_key, dequantize, quantize
from model_runtime.engines.flow.completion import complete_flow
from model_runtime.engines.flow.flow import ClipFlow, FlowSettings
from model_runtime.engines.flow.frames import sample_points
from vivid_desktop.media.clip_frames import ArrayFrames


def test_flow_of_a_pan_is_the_pan(pan):
    flows = ClipFlow(ArrayFrames(pan.scene.frames))
    background = pan.scene.masks[4] == 0
    fwd, bwd = flows.forward(4), flows.backward(4)
    vx, vy = pan.scene.velocity
    np.testing.assert_allclose(np.median(fwd[background], axis=0), [-vx, -vy], atol=0.05)
    np.testing.assert_allclose(np.median(bwd[background], axis=0), [vx, vy], atol=0.05)


def test_flow_is_computed_at_a_working_resolution_and_upsampled():
    settings = FlowSettings(max_side=480)
    assert settings.working_size(854, 480) == (480, 270)
    assert settings.working_size(432, 240) == (432, 240)
    frames = ArrayFrames([np.zeros((100, 200, 3), np.uint8)] * 2)
    flows = ClipFlow(frames, FlowSettings(max_side=100))
    assert flows.work_size == (100, 50)
    full = flows.to_full(np.full((50, 100, 2), 1.0, np.float32))
    assert full.shape == (100, 200, 2)
    np.testing.assert_allclose(full[50, 100], [2.0, 2.0])


def test_cache_round_trip_is_exact_and_small(tmp_path):
    rng = np.random.default_rng(0)
    fwd = quantize(rng.normal(0, 8, (270, 480, 2)).astype(np.float32))
    bwd = quantize(np.full((270, 480, 2), -3.25, np.float32))
    cache = FlowCache(tmp_path / "c")
    cache.save(7, fwd, bwd)
    got = cache.load(7, (270, 480))
    assert got is not None
    np.testing.assert_array_equal(got[0], fwd)
    np.testing.assert_array_equal(got[1], bwd)
    np.testing.assert_allclose(dequantize(bwd), -3.25)
    assert cache.load(7, (100, 100)) is None  # another working size: not this file
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.startswith(".tmp")]


def test_unreadable_or_pickled_cache_files_are_ignored(tmp_path):
    cache = FlowCache(tmp_path)
    (tmp_path / "000001.npz").write_bytes(b"garbage")
    assert cache.load(1, (4, 4)) is None
    # An object array can only be read with pickle: it must never be loaded.
    np.savez(tmp_path / "000002.npz", shape=np.array([4, 4]), fwd=np.array([object()]), bwd=np.array([1]))
    assert cache.load(2, (4, 4)) is None


def test_cached_pairs_are_reused_and_give_the_same_numbers(pan, tmp_path):
    frames = ArrayFrames(pan.scene.frames)
    cold = ClipFlow(frames, cache=FlowCache(tmp_path))
    cold.ensure(0, 24)
    assert cold.missing(0, 24) == []
    warm = ClipFlow(ArrayFrames([np.zeros_like(f) for f in pan.scene.frames]), cache=FlowCache(tmp_path))
    np.testing.assert_array_equal(warm.forward(5), cold.forward(5))  # read back, not recomputed


def test_the_cache_key_follows_the_file(tmp_path):
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"one")
    key = cache_key(clip, "160x96")
    assert cache_key(clip, "160x96") == key and cache_key(clip, "80x48") != key
    clip.write_bytes(b"two!")
    os.utime(clip, ns=(1, 1))
    assert cache_key(clip, "160x96") != key


@pytest.mark.parametrize("field", ["constant", "ramp"])
def test_completion_fills_a_hole_from_its_surroundings(field):
    ys, xs = np.mgrid[:60, :80].astype(np.float32)
    flow = (
        np.dstack([np.full_like(xs, 2.5), np.full_like(xs, -1.0)])
        if field == "constant"
        else np.dstack([xs * 0.05, ys * -0.02])
    )
    hole = np.zeros((60, 80), bool)
    hole[20:40, 30:55] = True
    broken = flow.copy()
    broken[hole] = (40.0, 40.0)  # what an object moving through the hole would leave
    done = complete_flow(broken, hole)
    np.testing.assert_array_equal(done[~hole], flow[~hole])
    assert np.abs(done[hole] - flow[hole]).max() < (1e-4 if field == "constant" else 0.4)


def test_sampling_many_points_at_once():
    # More points than one OpenCV remap row can hold (a large hole at full HD).
    image = np.arange(300 * 400, dtype=np.float32).reshape(300, 400)
    ys, xs = np.mgrid[:300, :400]
    points = np.stack([xs.ravel() + 0.5, ys.ravel()], axis=-1).astype(np.float32)[:50000]
    got = sample_points(image, points)
    expect = image.ravel()[:50000] + 0.5
    inside = points[:, 0] < 399
    np.testing.assert_allclose(got[inside], expect[inside], rtol=1e-6)


def test_an_unwritable_cache_only_costs_time(pan, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    flows = ClipFlow(ArrayFrames(pan.scene.frames), cache=FlowCache(blocker / "cache"))
    flows.ensure(0, 4)
    reference = ClipFlow(ArrayFrames(pan.scene.frames))
    np.testing.assert_array_equal(flows.forward(2), reference.forward(2))


def test_flows_computed_on_worker_threads_are_those_of_one_thread(pan, tmp_path):
    frames = pan.scene.frames
    seen: list[int] = []
    threaded = ClipFlow(ArrayFrames(frames), cache=FlowCache(tmp_path / "cache"), workers=2)
    stack = threaded.read_with_flows(0, len(frames), on_pair=seen.append)
    assert seen == list(range(len(frames) - 1))  # announced in order, on the caller's thread
    np.testing.assert_array_equal(stack, np.stack(frames))
    assert len(list((tmp_path / "cache").glob("*.npz"))) == len(frames) - 1
    serial = ClipFlow(ArrayFrames(frames))
    serial.ensure(0, len(frames))
    for i in range(len(frames) - 1):
        np.testing.assert_array_equal(threaded.forward(i), serial.forward(i))
        np.testing.assert_array_equal(threaded.backward(i), serial.backward(i))


def test_an_unwritable_cache_only_costs_time_on_worker_threads_too(pan, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    flows = ClipFlow(ArrayFrames(pan.scene.frames), cache=FlowCache(blocker / "cache"), workers=2)
    flows.ensure(0, 6)
    assert flows.cache is None
    np.testing.assert_array_equal(flows.forward(2), ClipFlow(ArrayFrames(pan.scene.frames)).forward(2))
