"""Mask tracking: anchor masks carried through the clip and re-segmented per frame, blended between anchors.

Margins are behavioural (any correct tracker keeps them, whatever the OpenCV build's flow): mean IoU
bounds well under what the tracker reaches, and comparisons ("a correction never makes a frame worse").
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from flow_helpers import FakeContext, iou, write_masks

from model_runtime.engines.base import EngineError
from model_runtime.engines.flow import FlowEngine, track_masks_job
from model_runtime.engines.flow.cache import cache_key
from model_runtime.engines.flow.flow import ClipFlow, FlowSettings
from model_runtime.engines.flow.segment import ColourModel, segment
from model_runtime.engines.flow.track import TRACK_FLOW_PRESET, track_masks
from vivid_desktop.media.clip_frames import ArrayFrames
from vivid_desktop.protocol.jobs import KeyframeSpec, TrackMasksRequest


def tracked(frames, masks, anchors) -> dict[int, np.ndarray]:
    flows = ClipFlow(ArrayFrames(frames))
    return dict(track_masks(flows, {a: masks[a] for a in anchors}, 0, len(frames)))


def scores(result, masks) -> list[float]:
    return [iou(result[n], masks[n]) for n in range(len(masks))]


@pytest.mark.parametrize("anchors", [[0], [23], [0, 23]])
def test_a_plain_object_is_tracked_from_any_anchor(pan, anchors):
    # A flat red object: dense flow inside it follows the background; its colour holds the mask on it.
    got = scores(tracked(pan.scene.frames, pan.scene.masks, anchors), pan.scene.masks)
    assert np.mean(got) >= 0.9 and min(got) >= 0.8, np.round(got, 2)


def test_a_growing_textured_object_is_tracked_between_two_anchors(deforming):
    frames, masks = deforming.scene.frames, deforming.scene.masks
    two = scores(tracked(frames, masks, [0, 23]), masks)
    assert np.mean(two) >= 0.8 and min(two) >= 0.7, np.round(two, 2)
    one = scores(tracked(frames, masks, [0]), masks)
    assert np.mean(one) >= 0.7, np.round(one, 2)
    assert np.mean(two) > np.mean(one)  # a second anchor helps
    corrected = tracked(frames, masks, [0, 12, 23])  # a mask corrected on frame 12 becomes an anchor
    np.testing.assert_array_equal(corrected[12], masks[12])
    fixed = scores(corrected, masks)
    # (two anchors alone already hold ~0.9 here: the correction has little left to win, and may cost a
    # frame a hair where its own chain is the weaker one)
    assert all(f >= t - 0.03 for f, t in zip(fixed, two, strict=True)), np.round([fixed, two], 2)
    assert np.mean(fixed[6:18]) > np.mean(two[6:18]) + 0.01


def doorway_scene(n: int = 24, width: int = 200, height: int = 120):
    """A red square sliding right past a static red 'doorway' on a textured background."""
    rng = np.random.default_rng(5)
    texture = cv2.resize(rng.integers(0, 255, (height // 6, width // 6, 3), np.uint8), (width, height))
    door = np.zeros((height, width), np.uint8)
    door[20:100, 20:50] = 255
    frames, objects = [], []
    for t in range(n):
        frame = texture.copy()
        frame[door > 0] = (200, 30, 30)
        obj = np.zeros_like(door)
        x = 52 + 4 * t
        obj[40:80, x : x + 30] = 255
        frame[obj > 0] = (210, 35, 25)
        frames.append(frame)
        objects.append(obj)
    return frames, objects, door


def test_an_erased_region_stays_erased_on_both_sides_of_the_correction():
    frames, objects, door = doorway_scene()
    sloppy = objects[0] | door  # the first mask took the doorway with the object
    # Frame 12 corrected: the doorway erased. It must stay out of the neighbours both ways.
    result = tracked(frames, {0: sloppy, 12: objects[12]}, [0, 12])
    for t in (8, 9, 10, 11, 13, 14, 16, 20, 23):
        in_door = (result[t] > 0) & (door > 0)
        assert in_door.sum() <= 0.03 * (door > 0).sum(), (t, int(in_door.sum()))
        assert iou(result[t], objects[t]) >= 0.85, (t, iou(result[t], objects[t]))


def test_changing_an_anchor_changes_only_the_frames_up_to_its_neighbours(deforming):
    frames, masks = deforming.scene.frames, deforming.scene.masks
    first = tracked(frames, masks, [0, 8, 16, 23])
    moved = dict(enumerate(masks))
    moved[16] = np.roll(masks[16], 3, axis=1)  # the user corrects anchor 16
    second = tracked(frames, moved, [0, 8, 16, 23])
    for t in range(0, 9):
        np.testing.assert_array_equal(first[t], second[t])
    assert any((first[t] != second[t]).any() for t in range(9, 23))


def test_segmentation_pulls_a_slid_prior_back_onto_the_object():
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(0, 255, (12, 20, 3), np.uint8), (160, 96), interpolation=cv2.INTER_CUBIC)
    truth = cv2.circle(np.zeros((96, 160), np.uint8), (80, 48), 16, 255, -1)
    frame[truth > 0] = (230, 120, 40)
    model = ColourModel(frame, truth > 0, 12)
    slid = np.roll(truth, (2, 3), axis=(0, 1)).astype(np.float32) / 255  # flow that followed the background
    slid = cv2.GaussianBlur(slid, (0, 0), 1.0)
    once = segment(slid, frame, model, band=4) >= 0.5
    assert iou(once, truth) > max(0.85, iou(slid >= 0.5, truth) + 0.1)
    assert not segment(np.zeros_like(slid), frame, model, band=4).any()


def test_track_masks_job_writes_every_frame_and_resumes(pan, tmp_path):
    out = tmp_path / "masks"
    request = TrackMasksRequest(
        source=str(pan.clip),
        start=0,
        stop=24,
        anchors=[KeyframeSpec(frame=6, mask=str(pan.masks / "000006.png"))],
        output_dir=str(out),
    )
    ctx = FakeContext()
    FlowEngine().track_masks(request, ctx)  # the base class's default path goes through track_masks_job
    assert ctx.frames == list(range(24))
    first = {n: cv2.imread(str(out / f"{n:06d}.png"), cv2.IMREAD_GRAYSCALE) for n in range(24)}
    assert np.mean([iou(first[n], pan.scene.masks[n]) for n in range(24)]) >= 0.9
    assert set(np.unique(first[3])) <= {0, 255}
    (out / "000010.png").unlink()
    (out / "000020.png").unlink()
    again = FakeContext()
    track_masks_job(request, again)
    assert again.frames == [10, 20]
    for n in (10, 20):
        np.testing.assert_array_equal(cv2.imread(str(out / f"{n:06d}.png"), cv2.IMREAD_GRAYSCALE), first[n])
    # a tracking job computes (and caches) the fine flows unless its settings name a preset
    fine = FlowSettings(preset=TRACK_FLOW_PRESET).cache_parts(*pan.scene.frames[0].shape[1::-1])
    assert TRACK_FLOW_PRESET == "fine"
    assert (tmp_path / ".vivid-flow-cache" / cache_key(pan.clip, fine)).is_dir()


def test_fine_flow_follows_a_thin_limb_that_medium_flow_smooths_away():
    rng = np.random.default_rng(1)
    ground = cv2.resize(rng.integers(0, 255, (30, 50, 3), np.uint8), (200, 120))
    limb = cv2.resize(rng.integers(0, 255, (13, 4, 3), np.uint8), (6, 40), interpolation=cv2.INTER_NEAREST)
    frames = []
    for t in range(2):  # a 6 px wide textured limb moving (3, 1) px over a still ground
        frame = ground.copy()
        frame[40 + t : 80 + t, 90 + 3 * t : 96 + 3 * t] = limb
        frames.append(frame)
    errors = {}
    for preset in ("medium", "fine"):
        flow = ClipFlow(ArrayFrames(frames), FlowSettings(preset=preset)).forward(0)
        errors[preset] = float(np.linalg.norm(flow[40:80, 90:96] - (3, 1), axis=-1).mean())
    assert errors["fine"] < 1.0 and errors["fine"] < 0.5 * errors["medium"], errors


def test_track_masks_job_needs_an_anchor_in_the_range(pan, tmp_path):
    request = TrackMasksRequest(
        source=str(pan.clip),
        start=0,
        stop=10,
        anchors=[KeyframeSpec(frame=15, mask=str(pan.masks / "000015.png"))],
        output_dir=str(tmp_path / "masks"),
    )
    with pytest.raises(EngineError) as err:
        track_masks_job(request, FakeContext())
    assert err.value.code == "no_anchor"


def test_anchor_masks_must_have_the_clip_size(pan, tmp_path):
    small = write_masks(tmp_path / "small", {0: np.zeros((48, 80), np.uint8)})
    request = TrackMasksRequest(
        source=str(pan.clip),
        start=0,
        stop=24,
        anchors=[KeyframeSpec(frame=0, mask=str(small / "000000.png"))],
        output_dir=str(tmp_path / "masks"),
    )
    with pytest.raises(EngineError) as err:
        track_masks_job(request, FakeContext())
    assert err.value.code == "mask_size" and "80×48" in err.value.message and "160×96" in err.value.message


def test_the_classical_segmenter_and_tracker_are_listed_by_name(pan):
    from model_runtime.engines.segmenters import segmenters, trackers
    from vivid_desktop.core.select import Prompt

    frames, masks = pan.scene.frames, pan.scene.masks
    flows = ClipFlow(ArrayFrames(frames))
    got = dict(trackers()["flow"].track(flows, {0: masks[0]}, 0, 6, lambda t: True, lambda: None))
    assert sorted(got) == list(range(6)) and np.mean([iou(got[t], masks[t]) for t in range(6)]) >= 0.9
    ys, xs = np.nonzero(masks[3])
    picked = segmenters()["grabcut"].select(frames[3], Prompt(positive=[(xs.mean(), ys.mean())]))
    assert iou(picked, masks[3]) >= 0.8
