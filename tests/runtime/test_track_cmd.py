"""``vivid track`` end to end: a real clip, a real runtime subprocess, masks out as PNGs and as a video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vivid_desktop.cli.main import main
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.media.synth import pan_scene, write_clip

N = 24


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0) & (b > 0)).sum() / max(1, ((a > 0) | (b > 0)).sum()))


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("track")
    s = pan_scene(n_frames=N, width=160, height=96, seed=3)
    write_clip(root / "clip.mp4", s.frames, rate=24)
    for n in (4, 20):
        cv2.imwrite(str(root / f"mask_{n}.png"), s.masks[n])
    # The keyframe mask at half size: scaled to the clip with a warning.
    cv2.imwrite(str(root / "small_4.png"), cv2.resize(s.masks[4], (80, 48), interpolation=cv2.INTER_NEAREST))
    return root, s


def test_tracked_masks_as_a_png_folder_and_as_a_mask_video(scene, tmp_path, capsys):
    root, s = scene
    folder = tmp_path / "masks"
    args = ["track", str(root / "clip.mp4"), "--mask", str(root / "small_4.png"), "--frame", "4"]
    assert main([*args, "--anchor", f"20={root / 'mask_20.png'}", "-o", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "scaled" in err and "wrote" in err
    got = [cv2.imread(str(folder / f"{n:06d}.png"), cv2.IMREAD_GRAYSCALE) for n in range(N)]
    assert all(g is not None and g.shape == (96, 160) for g in got)
    np.testing.assert_array_equal(got[20], s.masks[20])
    assert np.mean([iou(got[n], s.masks[n]) for n in range(N)]) >= 0.85

    video = tmp_path / "masks.mkv"
    assert main([*args, "--range", "2:14", "-o", str(video)]) == 0
    with FrameReader(video) as reader:
        frames = list(reader.iter_frames())
    assert len(frames) == 12  # frames 2..13
    back = [f.max(axis=2) >= 128 for f in frames]
    assert np.mean([iou(b, s.masks[n + 2]) for n, b in enumerate(back)]) >= 0.8


def test_a_wrong_anchor_is_one_line_and_exit_1(scene, tmp_path, capsys):
    root, _ = scene
    clip, mask = str(root / "clip.mp4"), str(root / "mask_4.png")
    assert main(["track", clip, "--mask", mask, "--anchor", "x=y.png", "-o", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "vivid track: --anchor 'x=y.png': write it as N=MASK.png, e.g. 40=mask_40.png"
    ]
    assert main(["track", clip, "--mask", mask, "--frame", "99", "-o", str(tmp_path / "o")]) == 1
    assert "outside the frames 0:24" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def sam2_folder(tmp_path_factory):
    from model_runtime.engines.sam2_tiny import write_tiny_sam2

    return write_tiny_sam2(tmp_path_factory.mktemp("sam2") / "tiny-sam2", seed=0)


def test_tracking_with_sam2_runs_in_the_runtime_and_writes_every_mask(scene, sam2_folder, tmp_path, capsys):
    # A tiny random SAM 2.1: the masks mean nothing, the plumbing is real (runtime process, job, files).
    root, s = scene
    folder = tmp_path / "masks"
    args = ["track", str(root / "clip.mp4"), "--mask", str(root / "mask_4.png"), "--frame", "4"]
    args += ["--anchor", f"12={root / 'mask_20.png'}", "--range", "2:16", "--sam2", str(sam2_folder)]
    assert main([*args, "--device", "cpu", "-o", str(folder)]) == 0
    assert "wrote" in capsys.readouterr().err
    got = {n: cv2.imread(str(folder / f"{n:06d}.png"), cv2.IMREAD_GRAYSCALE) for n in range(14)}
    assert all(g is not None and g.shape == (96, 160) and set(np.unique(g)) <= {0, 255} for g in got.values())
    np.testing.assert_array_equal(got[2], s.masks[4])  # output frame 0 is clip frame 2
    np.testing.assert_array_equal(got[10], s.masks[20])


def test_a_wrong_sam2_folder_is_one_line_and_exit_1(scene, tmp_path, capsys):
    root, _ = scene
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text('{"model_type": "sam2_video"}')
    (weights / "sam2.1_hiera_tiny.pt").write_bytes(b"never unpickled")
    args = ["track", str(root / "clip.mp4"), "--mask", str(root / "mask_4.png"), "-o", str(tmp_path / "o")]
    assert main([*args, "--sam2", str(weights)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "only pickled weights (sam2.1_hiera_tiny.pt)" in err[0]
    assert main([*args, "--tracker", "sam2"]) == 1
    assert capsys.readouterr().err.strip() == "vivid track: --tracker sam2 needs the model folder: --sam2 DIR"
    assert not (tmp_path / "o").exists()
