"""Deletion with the flow engine on clips with known ground truth (DESIGN.md §5, issue 4 §2/§4)."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from flow_helpers import FakeContext, SceneClip, far_from, psnr, read_rgb, write_lossless, write_masks

from model_runtime.engines.base import JobCancelled
from model_runtime.engines.flow import FlowEngine
from model_runtime.engines.flow.crop import fill_box
from vivid_desktop.media.synth import pan_scene
from vivid_desktop.protocol.jobs import EditKeyframeRequest, KeyframeSpec, RenderPlan

DILATE, FEATHER = 3, 3


def delete_plan(clip, out, **extra) -> RenderPlan:
    return RenderPlan(
        source=str(clip.clip),
        start=0,
        stop=len(clip.scene.frames),
        mask_dir=str(clip.masks),
        task="delete",
        output_dir=str(out),
        feather=FEATHER,
        settings={"cache_dir": str(out.parent / "cache"), **extra},
    )


def outputs(folder, n) -> list[np.ndarray]:
    return [read_rgb(folder / f"{i:06d}.png") for i in range(n)]


@pytest.fixture(scope="module")
def deleted(pan, tmp_path_factory):
    """One full deletion run of the pan clip: (output folder, recorded context)."""
    out = tmp_path_factory.mktemp("deleted") / "render"
    ctx = FakeContext()
    FlowEngine().propagate(delete_plan(pan, out), ctx)
    return out, ctx


def test_deletion_shows_the_true_background_far_better_than_inpainting(pan, deleted):
    out, ctx = deleted
    scene = pan.scene
    assert ctx.frames == list(range(24))  # streamed in order, one event per frame
    ours, baseline, hidden = [], [], []
    for n, frame in enumerate(outputs(out, 24)):
        mask = scene.masks[n] > 0
        region = cv2.dilate(scene.masks[n], cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
        ours.append(frame[mask])
        baseline.append(cv2.inpaint(scene.frames[n], region, 5, cv2.INPAINT_TELEA)[mask])
        hidden.append(scene.background[n][mask])
        assert psnr(frame, scene.background[n], mask) >= 27.0, f"frame {n}"
    truth = np.concatenate(hidden)
    score = psnr(np.concatenate(ours), truth, np.ones(len(truth), bool))
    base = psnr(np.concatenate(baseline), truth, np.ones(len(truth), bool))
    assert score >= 30.0
    assert score >= base + 3.0


def test_pixels_outside_the_feathered_mask_are_the_source_exactly(pan, deleted):
    out, _ = deleted
    for n, frame in enumerate(outputs(out, 24)):
        far = far_from(pan.scene.masks[n], DILATE + FEATHER + 1)
        np.testing.assert_array_equal(frame[far], pan.scene.frames[n][far])
        assert not np.array_equal(frame, pan.scene.frames[n])  # and the object did go


def test_a_second_run_is_identical_and_reuses_the_cached_flow(pan, deleted, tmp_path):
    out, _ = deleted
    cache = out.parent / "cache"
    stamps = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert len(stamps) == 23  # one file per frame pair
    again = tmp_path / "again"
    ctx = FakeContext()
    plan = delete_plan(pan, again).model_copy(update={"settings": {"cache_dir": str(cache)}})
    FlowEngine().propagate(plan, ctx)
    assert not [e for e in ctx.events if e[0] == "progress" and e[3] == "optical flow"]
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")} == stamps
    for a, b in zip(outputs(out, 24), outputs(again, 24), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_keeps_finished_frames_and_matches_an_uninterrupted_run(pan, deleted, tmp_path):
    full, _ = deleted
    out = tmp_path / "render"
    out.mkdir()
    kept = [0, 1, 2, 3, 9, 10, 17]
    for n in kept:
        shutil.copy2(full / f"{n:06d}.png", out / f"{n:06d}.png")
    sentinel = out / "000005.png"
    cv2.imwrite(str(sentinel), np.full((96, 160, 3), 77, np.uint8))  # a "finished" frame: never redone
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    ctx = FakeContext()
    FlowEngine().propagate(delete_plan(pan, out), ctx)
    assert ctx.frames == [n for n in range(24) if n not in [*kept, 5]]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in before} == before
    assert (read_rgb(sentinel) == 77).all()
    for n in range(6, 24):  # frames after the sentinel take nothing from it (every pixel was seen)
        np.testing.assert_array_equal(read_rgb(out / f"{n:06d}.png"), read_rgb(full / f"{n:06d}.png"))


def test_cancel_leaves_only_whole_frames_and_a_resume_finishes_the_job(pan, tmp_path):
    chunks = {"window": 8, "margin": 4}  # several chunks, so the resume starts mid-clip
    out = tmp_path / "render"
    ctx = FakeContext(cancel_after=5)
    with pytest.raises(JobCancelled):
        FlowEngine().propagate(delete_plan(pan, out, **chunks), ctx)
    written = sorted(int(p.stem) for p in out.glob("*.png"))
    assert ctx.frames == written  # frames written in the background before the cancel are announced too
    assert written[:5] == list(range(5)) and len(written) < 24
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]
    resumed = FakeContext()
    FlowEngine().propagate(delete_plan(pan, out, **chunks), resumed)
    assert resumed.frames == [n for n in range(24) if n not in written]
    straight = tmp_path / "straight"
    FlowEngine().propagate(delete_plan(pan, straight, **chunks), FakeContext())
    for a, b in zip(outputs(out, 24), outputs(straight, 24), strict=True):
        np.testing.assert_array_equal(a, b)


def test_edit_keyframe_deletes_on_one_frame(pan, tmp_path):
    n = 12
    ctx = FakeContext()
    request = EditKeyframeRequest(
        source=str(pan.clip),
        frame=n,
        mask=str(pan.masks / f"{n:06d}.png"),
        task="delete",
        output=str(tmp_path / "preview.png"),
    )
    path = FlowEngine().edit_keyframe(request, ctx)
    frame = read_rgb(path)
    scene = pan.scene
    assert psnr(frame, scene.background[n], scene.masks[n] > 0) >= 30.0
    far = far_from(scene.masks[n], DILATE + FEATHER + 1)
    np.testing.assert_array_equal(frame[far], scene.frames[n][far])
    done = [e for e in ctx.events if e[0] == "progress"]
    assert done and done[-1][1] == done[-1][2]


def test_deletion_tracks_keyframe_masks_when_the_plan_has_no_mask_sequence(pan, tmp_path):
    anchors = [KeyframeSpec(frame=n, mask=str(pan.masks / f"{n:06d}.png")) for n in (0, 23)]
    out = tmp_path / "render"
    plan = delete_plan(pan, out).model_copy(update={"mask_dir": None, "keyframes": anchors})
    ctx = FakeContext()
    FlowEngine().propagate(plan, ctx)
    assert ctx.frames == list(range(24))
    assert any(e[0] == "log" and "tracking" in e[1] for e in ctx.events)
    scene = pan.scene
    hidden = np.concatenate([read_rgb(out / f"{n:06d}.png")[scene.masks[n] > 0] for n in range(24)])
    truth = np.concatenate([scene.background[n][scene.masks[n] > 0] for n in range(24)])
    assert psnr(hidden, truth, np.ones(len(truth), bool)) >= 30.0


def test_one_mask_for_every_frame(pan, tmp_path):
    # A static mask over the object's whole path: everything under it is filled, the rest is the source.
    path_mask = np.max(np.stack(pan.scene.masks), axis=0)
    mask_file = tmp_path / "all.png"
    cv2.imwrite(str(mask_file), path_mask)
    out = tmp_path / "render"
    plan = delete_plan(pan, out).model_copy(update={"mask_dir": None, "mask": str(mask_file)})
    FlowEngine().propagate(plan, FakeContext())
    frame = read_rgb(out / "000012.png")
    red = np.abs(frame.astype(int) - (200, 40, 40)).sum(axis=2) < 30
    assert not (red & (path_mask > 0)).any()  # no trace of the red object
    far = far_from(path_mask, DILATE + FEATHER + 1)
    np.testing.assert_array_equal(frame[far], pan.scene.frames[12][far])


def test_an_edited_keyframe_is_known_content_for_its_neighbours(pan, deleted, tmp_path):
    # KIVE with the classical engine: a clean plate painted in an image editor (here: flat green inside
    # the grown mask) is shown on its frame and taken by the frames next to it.
    n = 12
    plate = pan.scene.frames[n].copy()
    grown = far_from(pan.scene.masks[n], DILATE + FEATHER + 1) == 0
    plate[grown] = (0, 255, 0)
    image = tmp_path / "plate.png"
    cv2.imwrite(str(image), cv2.cvtColor(plate, cv2.COLOR_RGB2BGR))
    keyframe = KeyframeSpec(frame=n, mask=str(pan.masks / f"{n:06d}.png"), image=str(image))
    out = tmp_path / "render"
    FlowEngine().propagate(delete_plan(pan, out).model_copy(update={"keyframes": [keyframe]}), FakeContext())
    frames, plain = outputs(out, 24), outputs(deleted[0], 24)
    inside = pan.scene.masks[n] > 0
    np.testing.assert_array_equal(frames[n][inside], plate[inside])

    def greenness(frame, m):
        pixels = frame[pan.scene.masks[m] > 0].astype(float)
        return float(np.mean(pixels[:, 1] - (pixels[:, 0] + pixels[:, 2]) / 2))

    for m in (n - 1, n + 1):
        assert greenness(frames[m], m) > greenness(plain[m], m) + 60
    for m in (0, 23):  # far away, the real background wins
        assert abs(greenness(frames[m], m) - greenness(plain[m], m)) < 30


def test_a_small_hole_is_filled_in_a_crop_with_the_same_pixels_as_on_the_whole_frame(tmp_path):
    """A small object on a larger frame: the fill works in a box around the holes; the result is the
    whole-frame result (up to float rounding: positions are relative to the box), and every pixel
    outside the feathered mask is the source's, bit for bit."""
    scene = pan_scene(n_frames=12, width=320, height=192, object_size=0.1, seed=3)
    assert fill_box([m > 0 for m in scene.masks], reach=4) is not None  # the case crops
    video = write_lossless(tmp_path / "small.mkv", scene.frames)
    clip = SceneClip(scene, video, write_masks(tmp_path / "masks", scene.masks))
    whole, cropped = tmp_path / "whole" / "out", tmp_path / "cropped" / "out"
    FlowEngine().propagate(delete_plan(clip, whole, crop=0), FakeContext())
    FlowEngine().propagate(delete_plan(clip, cropped), FakeContext())
    for n, (a, b) in enumerate(zip(outputs(whole, 12), outputs(cropped, 12), strict=True)):
        diff = np.abs(a.astype(int) - b)
        assert diff.max() <= 2 and (diff > 0).mean() < 1e-3
        far = far_from(scene.masks[n], DILATE + FEATHER + 1)
        np.testing.assert_array_equal(b[far], scene.frames[n][far])
        assert psnr(b, scene.background[n], scene.masks[n] > 0) >= 27.0


def test_the_serial_path_renders_the_same_files_as_the_overlapped_one(pan, deleted, tmp_path):
    out, _ = deleted  # the default: two threads (flows while frames decode, both fill passes at once)
    serial = tmp_path / "serial"
    plan = delete_plan(pan, serial).model_copy(
        update={"settings": {"cache_dir": str(tmp_path / "cache"), "threads": 1}}
    )
    ctx = FakeContext()
    FlowEngine().propagate(plan, ctx)
    assert ctx.frames == list(range(24))
    for n in range(24):
        assert (serial / f"{n:06d}.png").read_bytes() == (out / f"{n:06d}.png").read_bytes(), f"frame {n}"
