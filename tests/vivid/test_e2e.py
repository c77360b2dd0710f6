"""``vivid edit --engine vivid --model TINY`` end to end: a real runtime subprocess, a tiny seeded model."""

from __future__ import annotations

import cv2
import numpy as np

from model_runtime.engines.composite import feather_alpha
from vivid_desktop.cli.main import main
from vivid_desktop.media.probe import probe
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.media.synth import pan_scene, write_clip


def test_vivid_edit_with_a_keyframe_through_the_runtime(tiny_model, tmp_path, capsys):
    scene = pan_scene(n_frames=13, width=48, height=32, seed=5)
    clip = write_clip(tmp_path / "clip.mp4", scene.frames, rate=24, audio_seconds=0.5)
    mask = np.zeros((32, 48), np.uint8)
    mask[8:24, 16:36] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    with FrameReader(clip) as reader:
        source = [np.array(f) for f in reader.iter_frames()]
    key = source[6].copy()
    key[mask > 0] = (30, 200, 90)  # an edited keyframe from "an external editor"
    cv2.imwrite(str(tmp_path / "key.png"), cv2.cvtColor(key, cv2.COLOR_RGB2BGR))
    work = tmp_path / "work"
    rc = main(
        [
            "edit",
            str(clip),
            "--mask",
            str(tmp_path / "mask.png"),
            "--task",
            "modify",
            "--caption",
            "a green box",
            "--keyframe",
            f"6={tmp_path / 'key.png'}",
            "--engine",
            "vivid",
            "--model",
            str(tiny_model),
            "--steps",
            "4",
            "--work",
            str(work),
            "-o",
            str(tmp_path / "out.mp4"),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    info = probe(tmp_path / "out.mp4")
    assert info.frame_count == 13 and info.has_audio
    frames = sorted((work / "render").glob("*.png"))
    assert [int(p.stem) for p in frames] == list(range(13))
    outside = feather_alpha(mask, 3) == 0
    for i, p in enumerate(frames):
        out = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        assert np.array_equal(out[outside], source[i][outside]), i
        if i == 6:
            assert np.array_equal(out[mask > 0], key[mask > 0])  # the keyframe, unchanged
