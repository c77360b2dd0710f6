"""The three dataset layouts are read as documented; a broken dataset is refused with every sample named."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from model_runtime.training.datasets import check_dataset
from model_runtime.training.errors import DatasetError
from model_runtime.training.units import unit_pixels, units_of
from vivid_desktop.core.files import write_png
from vivid_desktop.core.store import create_project
from vivid_desktop.datasets.synthetic import SIZE, make_dataset, write_clip_sample, write_image_sample
from vivid_desktop.media.synth import pan_scene, write_clip
from vivid_desktop.protocol.jobs import DELETE_CAPTION


def test_folder_layout_with_validation_subfolder(tmp_path):
    data = make_dataset(tmp_path / "data", images=2, clips=1)
    (data / "img1.txt").write_text(DELETE_CAPTION)
    write_image_sample(data / "validation", "val0", seed=50) if (
        data / "validation"
    ).mkdir() is None else None
    ds = check_dataset(data, num_frames=5)
    names = {s.spec.name: s for s in ds.samples}
    assert set(names) == {"img0.png", "img1.png", "clip0.mp4", "validation/val0.png"}
    assert names["img1.png"].spec.task == "delete" and names["img0.png"].spec.task == "modify"
    assert names["clip0.mp4"].is_video and names["clip0.mp4"].frames == 9
    assert [s.spec.name for s in ds.validation] == ["validation/val0.png"]
    assert ds.summary()["videos"] == 1 and ds.summary()["images"] == 2
    # A 9-frame clip at 5 frames per sample: one window plus the requested still frames.
    units = units_of(names["clip0.mp4"], num_frames=5, image_frames_per_clip=2)
    assert [(u.start, u.frames) for u in units] == [(0, 5), (0, 1), (8, 1)]
    frames, masks = unit_pixels(units[0], 16, 24)
    assert frames.shape == (5, 16, 24, 3) and masks.shape == (5, 16, 24)
    assert masks.max() == 255 and masks.min() == 0


def test_broken_dataset_is_refused_with_every_problem_named(tmp_path):
    data = make_dataset(tmp_path / "data", images=1, clips=1)
    write_image_sample(data, "nomask", seed=5)
    (data / "nomask.mask.png").unlink()
    write_image_sample(data, "wrongsize", seed=6)
    write_png(data / "wrongsize.mask.png", np.zeros((SIZE + 4, SIZE), np.uint8))
    write_clip_sample(data, "short", seed=7, frames=3)
    (data / "broken.mp4").write_bytes(b"this is not a video")
    (data / "broken.mask.png").write_bytes(b"nor an image")
    (data / "broken.txt").write_text("x")
    write_image_sample(data, "nocaption", seed=8)
    (data / "nocaption.txt").unlink()
    with pytest.raises(DatasetError) as err:
        check_dataset(data, num_frames=5)
    text = str(err.value)
    by_sample = {p.sample: p.message for p in err.value.problems}
    assert "missing mask" in by_sample["nomask.png"]
    assert "size mismatch" in by_sample["wrongsize.png"]
    assert "too few frames" in by_sample["short.mp4"]
    assert "unreadable" in by_sample["broken.mp4"]
    assert "caption" in by_sample["nocaption.png"]
    assert len(err.value.problems) == 5 and "training did not start" in text
    assert err.value.code == "dataset_invalid"


def test_missing_frames_of_a_mask_folder_are_named(tmp_path):
    data = make_dataset(tmp_path / "data", images=0, clips=1)
    (data / "clip0.mask" / "000003.png").unlink()
    with pytest.raises(DatasetError, match=r"clip0.mp4: missing mask for frame 3"):
        check_dataset(data, num_frames=5)


def test_records_layout(tmp_path):
    root = tmp_path / "records"
    (root / "videos").mkdir(parents=True)
    (root / "masks").mkdir()
    scene = pan_scene(n_frames=12, width=SIZE, height=SIZE, seed=3)
    write_clip(root / "videos" / "a.mp4", scene.frames)
    write_clip(root / "masks" / "a.mp4", [np.stack([m] * 3, -1) for m in scene.masks])
    write_png(root / "image.png", scene.frames[0])
    write_png(root / "masks" / "image.png", scene.masks[0])
    records = [
        {
            "id": "clip-a",
            "video": "videos/a.mp4",
            "mask": "masks/a.mp4",
            "caption": "a red ball",
            "task": "add",
            "start": 2,
            "stop": 11,
        },
        {"id": "still", "image": "image.png", "mask": "masks/image.png", "caption": "", "task": "delete"},
        {
            "id": "val",
            "image": "image.png",
            "mask": "masks/image.png",
            "caption": "a red ball",
            "split": "validation",
        },
        {"id": "bad", "video": "videos/a.mp4"},
    ]
    (root / "records.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    with pytest.raises(DatasetError, match="bad: not a valid record"):
        check_dataset(root, num_frames=5)
    (root / "records.jsonl").write_text("\n".join(json.dumps(r) for r in records[:3]) + "\n")
    ds = check_dataset(root / "records.jsonl", num_frames=5)
    clip = next(s for s in ds.samples if s.spec.name == "clip-a")
    assert (clip.spec.start, clip.stop, clip.spec.task) == (2, 11, "add")
    assert clip.spec.mask_index(2) == 2  # mask frames are numbered like the video's by default
    still = next(s for s in ds.samples if s.spec.name == "still")
    assert still.spec.caption == DELETE_CAPTION
    assert [s.spec.name for s in ds.validation] == ["val"]
    _, masks = unit_pixels(units_of(clip, 5, 0)[0], SIZE, SIZE)
    got, want = masks[0] > 127, scene.masks[2] > 127
    assert (got & want).sum() / (got | want).sum() > 0.9  # source frame 2's mask, via a lossy video


def test_project_source(tmp_path):
    scene = pan_scene(n_frames=10, width=SIZE, height=SIZE, seed=4)
    clip = write_clip(tmp_path / "clip.mp4", scene.frames)
    store = create_project(
        tmp_path / "p.vivid", clip, width=SIZE, height=SIZE, rate=Fraction(24), frame_count=10
    )
    add = store.project.add_edit(task="modify", caption="a red ball", name="ball")
    for f in (2, 7):
        store.add_keyframe(add.id, f, scene.masks[f])
    track = store.track_dir(add.id)
    track.mkdir(parents=True)
    for f in range(1, 9):
        write_png(track / f"{f:06d}.png", scene.masks[f])
    store.track_done(add.id, 1, 9)
    edited = store.project.add_edit(task="modify", caption="a blue ball", name="blue")
    store.add_keyframe(edited.id, 4, scene.masks[4])
    store.write_keyframe_image(edited.id, 4, np.full((SIZE, SIZE, 3), (0, 0, 255), np.uint8))
    delete = store.project.add_edit(task="delete", name="gone")
    store.add_keyframe(delete.id, 5, scene.masks[5])
    store.save()
    # the editor may have the project open: reading it for training must not touch its folder
    in_flight = tmp_path / "p.vivid" / ".project.json.1234.tmp"
    in_flight.write_text("{")

    ds = check_dataset(tmp_path / "p.vivid", num_frames=5)
    assert in_flight.exists()
    train = {s.spec.name: s.spec for s in ds.train}
    assert set(train) == {
        "ball · frame 2",
        "ball · frame 7",
        "ball · frames 1–8",  # source pixels, the caption describes them
        "blue · edited keyframe 4",  # the edited image is the target; its source frame is not trained
        "gone · frame 5",  # delete: only deletion variants are made from it
    }
    assert train["ball · frames 1–8"].mask_index(3) == 3  # project masks are numbered like the clip
    assert train["blue · edited keyframe 4"].target is not None
    assert train["gone · frame 5"].is_delete and train["gone · frame 5"].caption == DELETE_CAPTION
    assert {s.spec.name for s in ds.validation} == {
        "ball · keyframe 2",
        "ball · keyframe 7",
        "blue · keyframe 4",
        "gone · keyframe 5",
    }
    edited_sample = next(s for s in ds.train if s.spec.target is not None)
    frames, _ = unit_pixels(units_of(edited_sample, 5, 0)[0], SIZE, SIZE)
    assert (frames[0] == (0, 0, 255)).all()
