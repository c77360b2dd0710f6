"""``vivid edit`` end to end: real clips, a real runtime subprocess, the flow engine, real exports."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest

from vivid_desktop.cli.main import main
from vivid_desktop.media.probe import probe
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.media.synth import pan_scene, write_clip

N = 24


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A panning clip with audio, the object's masks (dilated) as PNG files, and the ground truth."""
    root = tmp_path_factory.mktemp("scene")
    s = pan_scene(n_frames=N, width=160, height=96, seed=3)
    write_clip(root / "clip.mp4", s.frames, rate=24, audio_seconds=1.0)
    (root / "masks").mkdir()
    kernel = np.ones((7, 7), np.uint8)
    for i, m in enumerate(s.masks):
        cv2.imwrite(str(root / "masks" / f"{i:06d}.png"), cv2.dilate(m, kernel))
    return root, s


def read_pngs(folder: Path) -> list[np.ndarray]:
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(folder.glob("*.png"))]


def test_delete_with_a_mask_folder_keeps_outside_pixels_exactly(scene, tmp_path, capsys):
    root, s = scene
    out = tmp_path / "out_png"
    assert (
        main(
            [
                "edit",
                str(root / "clip.mp4"),
                "--mask",
                str(root / "masks"),
                "--task",
                "delete",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "wrote" in capsys.readouterr().err
    result = read_pngs(out)
    assert len(result) == N
    with FrameReader(root / "clip.mp4") as reader:
        source = list(reader.iter_frames())
    for i in (0, N // 2, N - 1):
        mask = cv2.imread(str(root / "masks" / f"{i:06d}.png"), cv2.IMREAD_GRAYSCALE)
        outside = cv2.dilate(mask, np.ones((19, 19), np.uint8)) == 0  # beyond dilation and feather
        assert np.array_equal(result[i][outside], source[i][outside])
        inside = s.masks[i] > 0
        err = np.mean((result[i][inside].astype(float) - s.background[i][inside]) ** 2)
        assert 10 * np.log10(255**2 / max(err, 1e-9)) > 22  # the object is gone (quality: flow tests)


def test_single_wrong_size_mask_tracked_over_a_range_with_audio(scene, tmp_path, capsys):
    root, s = scene
    small = tmp_path / "small.png"
    first = cv2.dilate(s.masks[4], np.ones((7, 7), np.uint8))
    cv2.imwrite(str(small), cv2.resize(first, (80, 48), interpolation=cv2.INTER_NEAREST))
    out = tmp_path / "out.mp4"
    rc = main(
        [
            "edit",
            str(root / "clip.mp4"),
            "--mask",
            str(small),
            "--track",
            "--task",
            "delete",
            "--range",
            "4:20",
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "warning: mask small.png is 80x48, the clip is 160x96: scaled to fit" in err
    info = probe(out)
    assert info.frame_count == 16 and info.rate == 24 and info.has_audio


def test_mask_video_and_work_folder_resume(scene, tmp_path, capsys):
    root, s = scene
    mask_video = tmp_path / "masks.mkv"
    write_clip(mask_video, [np.repeat(m[:, :, None], 3, axis=2) for m in s.masks], rate=24, codec="ffv1")
    work = tmp_path / "work"
    args = [
        "edit",
        str(root / "clip.mp4"),
        "--mask",
        str(mask_video),
        "--task",
        "delete",
        "--work",
        str(work),
        "-o",
        str(tmp_path / "a.mkv"),
    ]
    assert main(args) == 0, capsys.readouterr().err
    assert len(list((work / "masks").glob("*.png"))) == N
    stamps = {p.name: p.stat().st_mtime_ns for p in (work / "render").glob("*.png")}
    args[-1] = str(tmp_path / "b.mkv")
    assert main(args) == 0  # a rerun with the same work folder renders nothing again
    assert {p.name: p.stat().st_mtime_ns for p in (work / "render").glob("*.png")} == stamps


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--task", "add"], "keyframe"),  # the flow engine needs an edited keyframe for add
        (["--task", "delete", "--keyframe", "twelve=x.png"], "write it as N=IMAGE"),
        (["--task", "delete", "--keyframe", "99=x.png"], "outside the frames"),
        (["--task", "delete", "--range", "30:40"], "the clip has frames 0 to 23"),
        (["--task", "add", "--engine", "vivid"], "needs --model"),
    ],
)
def test_failures_end_with_one_line(scene, tmp_path, capsys, extra, reason):
    root, _ = scene
    rc = main(
        ["edit", str(root / "clip.mp4"), "--mask", str(root / "masks"), *extra, "-o", str(tmp_path / "o.mp4")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1].startswith("vivid edit: ") and reason in err[-1]
    assert not (tmp_path / "o.mp4").exists()


def test_missing_clip(tmp_path, capsys):
    assert (
        main(["edit", str(tmp_path / "nope.mp4"), "--mask", "m.png", "--task", "delete", "-o", "o.mp4"]) == 1
    )
    assert capsys.readouterr().err.strip() == f"vivid edit: clip not found: {tmp_path / 'nope.mp4'}"


def test_ctrl_c_cancels_cleanly(tmp_path):
    s = pan_scene(n_frames=100, width=320, height=192, seed=5)
    write_clip(tmp_path / "long.mp4", s.frames, rate=24)
    cv2.imwrite(str(tmp_path / "m.png"), cv2.dilate(s.masks[0], np.ones((7, 7), np.uint8)))
    work = tmp_path / "work"
    cmd = [
        sys.executable,
        "-m",
        "vivid_desktop.cli.main",
        "edit",
        str(tmp_path / "long.mp4"),
        "--mask",
        str(tmp_path / "m.png"),
        "--task",
        "delete",
        "--work",
        str(work),
        "-o",
        str(tmp_path / "o.mp4"),
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        log = work / "runtime.log"
        while not (log.exists() and "(propagate) started" in log.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        runtime = psutil.Process(proc.pid).children()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "vivid edit: cancelled"
    assert runtime and not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in runtime)
    text = log.read_text()
    assert "(propagate) ended: cancelled" in text and "shutdown requested" in text
    assert not (tmp_path / "o.mp4").exists()
