"""SAM 2.1 on transformers: a tiny random model written by the test, read back, run as segmenter and tracker.

Random weights make meaningless masks: these tests pin the plumbing (loading, sizes, order, both
directions, cancel, resume) and the refusals, never the accuracy.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from flow_helpers import FakeContext

from model_runtime.engines.base import EngineError, JobCancelled
from model_runtime.engines.flow.flow import ClipFlow
from vivid_desktop.core.select import Prompt
from vivid_desktop.media.clip_frames import ArrayFrames

H, W = 40, 56  # not square, not the model's 64: every resize is exercised


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from model_runtime.engines.sam2_tiny import write_tiny_sam2

    return write_tiny_sam2(tmp_path_factory.mktemp("sam2") / "tiny-sam2", seed=0)


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(14)]
    mask = np.zeros((H, W), np.uint8)
    mask[10:30, 15:40] = 255
    return frames, mask


def test_the_folder_is_read_back_weight_for_weight_from_safetensors_only(folder):
    from safetensors.torch import load_file

    from model_runtime.engines.sam2_model import load_sam2

    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    sam = load_sam2(folder, "cpu")
    saved = load_file(str(folder / "model.safetensors"))
    state = sam.model.state_dict()
    assert saved.keys() <= state.keys() and len(saved) > 100
    for name, tensor in saved.items():
        assert torch.equal(state[name], tensor), name
    assert load_sam2(str(folder) + "/", "cpu") is sam  # the same folder is loaded once


def test_clicks_and_a_box_make_a_mask_of_the_frame_size_the_same_each_time(folder, clip):
    from model_runtime.engines.segmenters import segmenters

    frames, _ = clip
    assert "sam2" not in segmenters()
    seg = segmenters(str(folder), "cpu")["sam2"]
    prompts = [
        Prompt(positive=[(20.0, 18.0)]),
        Prompt(box=(5, 4, 44, 33)),
        Prompt(positive=[(20.0, 18.0)], negative=[(50.0, 35.0)], box=(44, 33, 5, 4)),  # corners any way
    ]
    for prompt in prompts:
        mask = seg.select(frames[3], prompt)
        assert mask.shape == (H, W) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        np.testing.assert_array_equal(seg.select(frames[3], prompt), mask)
    with pytest.raises(ValueError, match="click on the object"):
        seg.select(frames[3], Prompt(negative=[(5.0, 5.0)]))


def test_the_prompt_is_scaled_to_the_model_input_box_first(folder):
    from model_runtime.engines.sam2_model import load_sam2

    sam = load_sam2(folder, "cpu")
    got = sam.prompt_inputs(Prompt(positive=[(28, 10)], negative=[(0, 40)], box=(56, 40, 0, 0)), H, W)
    coords = got["point_coords"][0, 0].tolist()
    assert coords == [[0.0, 0.0], [64.0, 64.0], [32.0, 16.0], [0.0, 64.0]]
    assert got["point_labels"][0, 0].tolist() == [2, 3, 1, 0]


def test_the_tracker_yields_every_needed_frame_in_order_both_ways_from_each_anchor(folder, clip):
    from model_runtime.engines.sam2_track import count_steps
    from model_runtime.engines.segmenters import trackers

    frames, mask = clip
    assert "sam2" not in trackers()
    tracker = trackers(str(folder), "cpu")["sam2"]
    flows = ClipFlow(ArrayFrames(frames))
    anchors = {3: mask, 9: 255 - mask}
    calls = []
    got = list(tracker.track(flows, anchors, 1, 13, lambda t: True, lambda: calls.append(1)))
    assert [t for t, _ in got] == list(range(1, 13))
    assert all(m.shape == (H, W) and m.dtype == np.uint8 and set(np.unique(m)) <= {0, 255} for _, m in got)
    masks = dict(got)
    np.testing.assert_array_equal(masks[3], mask)
    np.testing.assert_array_equal(masks[9], 255 - mask)
    # frames 1-2 backward from 3 (+ its step), 4-8 both ways (+ both anchors each way), 10-12 forward
    assert len(calls) == count_steps([3, 9], 1, 13, lambda t: True) == (1 + 2) + 2 * (2 + 5) + (1 + 3)
    again = dict(tracker.track(flows, anchors, 1, 13, lambda t: True, lambda: None))
    for t in masks:
        np.testing.assert_array_equal(again[t], masks[t])

    # Only some frames needed (a resume): the same masks for those, nothing else, and no steps for the
    # stretches that are done already.
    needed = {5, 6}.__contains__
    calls.clear()
    part = list(tracker.track(flows, anchors, 1, 13, needed, lambda: calls.append(1)))
    assert [t for t, _ in part] == [5, 6]
    for t, m in part:
        np.testing.assert_array_equal(m, masks[t])
    assert len(calls) == count_steps([3, 9], 1, 13, needed) == 2 * (2 + 5)


def test_backward_passes_read_the_same_pictures_chunk_by_chunk(folder, clip, monkeypatch):
    from model_runtime.engines import sam2_track
    from model_runtime.engines.sam2_model import load_sam2

    frames, mask = clip
    sam = load_sam2(folder, "cpu")
    whole = dict(sam2_track.track_masks_sam2(sam, ArrayFrames(frames), {13: mask}, 0, 14))
    monkeypatch.setattr(sam2_track, "BACKWARD_CHUNK", 3)
    chunked = dict(sam2_track.track_masks_sam2(sam, ArrayFrames(frames), {13: mask}, 0, 14))
    assert sorted(chunked) == list(range(14))
    for t in whole:
        np.testing.assert_array_equal(chunked[t], whole[t])


def test_a_cancel_stops_the_tracker_between_two_model_steps(folder, clip):
    from model_runtime.engines.sam2_model import load_sam2
    from model_runtime.engines.sam2_track import track_masks_sam2

    frames, mask = clip
    steps = []

    def check():
        if len(steps) == 6:
            raise JobCancelled()
        steps.append(1)

    got = []
    tracked = track_masks_sam2(load_sam2(folder, "cpu"), ArrayFrames(frames), {0: mask}, 0, 14, check=check)
    with pytest.raises(JobCancelled):
        for t, _ in tracked:
            got.append(t)
    assert got == [0, 1, 2, 3, 4, 5] and len(steps) == 6  # the anchor's own step, then one per frame


def test_the_track_job_writes_the_masks_resumes_and_reports_progress(folder, clip, tmp_path):
    from flow_helpers import write_lossless

    from model_runtime.engines.sam2_job import TrackerChoice, track_masks_job
    from vivid_desktop.protocol.jobs import KeyframeSpec, TrackMasksRequest
    from vivid_desktop.render_folder import frame_path, read_mask, write_frame

    frames, mask = clip
    source = write_lossless(tmp_path / "clip.mkv", frames)
    write_frame(tmp_path / "anchor.png", mask)
    out = tmp_path / "masks"
    settings = {"tracker": "sam2", "sam2_model": str(folder), "device": "cpu"}
    request = TrackMasksRequest(
        source=str(source),
        start=2,
        stop=10,
        anchors=[KeyframeSpec(frame=4, mask=str(tmp_path / "anchor.png"))],
        output_dir=str(out),
        settings=settings,
    )
    choice = TrackerChoice.of(settings)
    ctx = FakeContext()
    track_masks_job(request, choice, ctx)
    assert ctx.frames == list(range(2, 10))
    np.testing.assert_array_equal(read_mask(frame_path(out, 4)), mask)
    progress = [e for e in ctx.events if e[0] == "progress"]
    assert progress[-1][1] == progress[-1][2]  # it ends at 100 %
    first = read_mask(frame_path(out, 7))
    frame_path(out, 7).unlink()
    resumed = FakeContext()
    track_masks_job(request, choice, resumed)
    assert resumed.frames == [7]
    np.testing.assert_array_equal(read_mask(frame_path(out, 7)), first)


def test_a_folder_with_only_a_pickle_is_refused_without_opening_it(tmp_path, folder):
    from model_runtime.engines.sam2_folder import check_mask_folder

    pickled = tmp_path / "sam2-pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((folder / "config.json").read_text())
    # Not a real pickle: were it ever opened, loading would fail with another error than this one.
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04 this is never unpickled")
    with pytest.raises(EngineError) as err:
        check_mask_folder(pickled)
    assert err.value.code == "pickle_refused"
    assert "pytorch_model.bin" in err.value.message and "\n" not in err.value.message


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (None, "model_not_found", "SAM 2 model folder not found"),
        ({}, "model_invalid", "has no config.json"),
        ({"model_type": "sam2"}, "unsupported_model", "not a SAM 2.1 video model"),
        ({"model_type": "edgetam_video"}, "unsupported_model", "needs timm and torchvision"),
        ({"model_type": "sam2_video"}, "model_invalid", "no .safetensors"),
    ],
)
def test_a_wrong_folder_is_one_line(tmp_path, make, code, words):
    from model_runtime.engines.sam2_job import TrackerChoice

    where = tmp_path / "weights"
    if make is not None:
        where.mkdir()
        if make:
            (where / "config.json").write_text(json.dumps(make))
        if make.get("model_type") == "edgetam_video":
            (where / "model.safetensors").write_bytes(b"")
    with pytest.raises(EngineError) as err:
        TrackerChoice.of({"tracker": "sam2", "sam2_model": str(where)})
    assert err.value.code == code and words in err.value.message and "\n" not in err.value.message


def test_the_tracker_setting_is_checked(folder):
    from model_runtime.engines.sam2_job import TrackerChoice

    assert TrackerChoice.of({}).name == "flow" and TrackerChoice.of({"tracker": "flow"}).name == "flow"
    chosen = TrackerChoice.of({"tracker": "sam2", "sam2_model": str(folder)})
    assert chosen.name == "sam2" and chosen.sam2_model == str(folder.resolve()) and chosen.device == "auto"
    for settings, code in (({"tracker": "cutie"}, "bad_settings"), ({"tracker": "sam2"}, "no_model")):
        with pytest.raises(EngineError) as err:
            TrackerChoice.of(settings)
        assert err.value.code == code
