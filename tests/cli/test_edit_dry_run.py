"""``vivid edit --dry-run``: the plan as JSON, no runtime started, nothing rendered or written."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from vivid_desktop.cli.main import main
from vivid_desktop.media.synth import pan_scene, write_clip
from vivid_desktop.protocol.windows import plan_windows


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dry")
    scene = pan_scene(n_frames=130, width=32, height=16, seed=1)
    cv2.imwrite(str(folder / "mask.png"), np.full((16, 32), 255, np.uint8))
    cv2.imwrite(str(folder / "key.png"), scene.frames[0])
    return write_clip(folder / "clip.mkv", scene.frames, codec="ffv1", pix_fmt="bgr0"), folder


def _dry(clip, folder, *extra: str) -> list[str]:
    return ["edit", str(clip), "--mask", str(folder / "mask.png"), "--task", "delete", "--dry-run", *extra]


def test_dry_run_prints_the_vivid_plan_and_exits(clip, capsys):
    path, folder = clip
    key = str(folder / "key.png")
    args = _dry(path, folder, "--engine", "vivid", "--model", str(folder), "--resolution", "320x576")
    rc = main([*args, "--keyframe", f"10={key}", "--keyframe", f"60={key}", "--work", str(folder / "w")])
    assert rc == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["resolution"] == [320, 576] and (plan["start"], plan["stop"]) == (0, 130)
    expected = plan_windows(0, 130, [10, 60])
    assert [
        (w["start"], w["stop"], w["model_frames"], w["known"], w["direction"]) for w in plan["windows"]
    ] == [(w.start, w.stop, w.model_length, w.known_frame, w.direction) for w in expected]
    assert plan["windows"][0] == {**plan["windows"][0], "start": 0, "stop": 11, "known": 10}
    assert plan["windows"][0]["direction"] == "backward"
    assert all(w["model_frames"] % 8 == 1 for w in plan["windows"])
    assert not list((folder / "w").glob("render*"))  # nothing rendered


def test_dry_run_checks_its_inputs(clip, capsys):
    path, folder = clip
    with pytest.raises(SystemExit) as exc:
        main([*_dry(path, folder, "--engine", "vivid", "--model", str(folder)), "--resolution", "500x720"])
    assert exc.value.code == 2 and "multiples of 16" in capsys.readouterr().err
    assert main([*_dry(path, folder), "--range", "0:500"]) == 1
    assert "--range" in capsys.readouterr().err
    rc = main(["edit", str(path), "--mask", str(folder / "mask.png"), "--task", "delete"])
    assert rc == 2 and "-o/--output" in capsys.readouterr().err
