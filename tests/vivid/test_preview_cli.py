"""``vivid preview`` end to end (a real runtime subprocess, the tiny seeded model): the steps on the
progress display, OUT written at the end; Ctrl-C (SIGINT) cancels the runtime's job: one line, status 130,
no OUT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np

from model_runtime.engines.composite import feather_alpha
from vivid_desktop.cli.main import main
from vivid_desktop.media.reader import FrameReader


def _args(clip, mask, model, out, steps: int, *extra: str) -> list[str]:
    return [
        "preview",
        str(clip),
        "--frame",
        "4",
        "--mask",
        str(mask),
        "--caption",
        "a red balloon",
        "--model",
        str(model),
        "--steps",
        str(steps),
        *extra,
        "-o",
        str(out),
    ]


def test_preview_shows_steps_and_writes_the_edited_keyframe(tiny_model, clip, box_mask, tmp_path, capsys):
    out = tmp_path / "key.png"
    rc = main(_args(clip, box_mask, tiny_model, out, 3))
    err = capsys.readouterr().err
    assert rc == 0, err
    lines = err.strip().splitlines()
    assert "keyframe 4: step 1/3" in lines and "keyframe 4: step 3/3" in lines  # first and last step
    assert lines[-1] == f"vivid preview: wrote {out}"
    edited = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    with FrameReader(clip) as reader:
        source = np.asarray(reader.read(4))
    mask = cv2.imread(str(box_mask), cv2.IMREAD_GRAYSCALE)
    outside = feather_alpha(mask, 3) == 0
    assert np.array_equal(edited[outside], source[outside]) and not np.array_equal(edited, source)


def test_preview_input_errors_are_one_line(tiny_model, clip, box_mask, tmp_path, capsys):
    assert main(_args(clip, box_mask, tiny_model, tmp_path / "k.png", 2, "--frame", "99")) == 1
    assert capsys.readouterr().err.strip() == "vivid preview: --frame 99: the clip has frames 0 to 20"
    no_caption = [a for a in _args(clip, box_mask, tiny_model, tmp_path / "k.png", 2) if a != "a red balloon"]
    no_caption.remove("--caption")
    assert main(no_caption) == 1
    assert "needs --caption" in capsys.readouterr().err
    assert main(_args(clip, box_mask, tiny_model, tmp_path / "k.xyz", 2)) == 1
    assert "cannot write an image named k.xyz" in capsys.readouterr().err


def test_ctrl_c_cancels_the_runtime_job_in_one_line(tiny_model, clip, box_mask, tmp_path):
    out, work = tmp_path / "key.png", tmp_path / "work"
    args = _args(clip, box_mask, tiny_model, out, 400, "--resolution", "96x96", "--work", str(work))
    # not a heartbeat test: on a loaded shared machine the runtime may go unscheduled for over 1.5 s
    env = {**os.environ, "VIVID_RUNTIME_HEARTBEAT_TIMEOUT": "10"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vivid_desktop.cli.main", *args], stderr=subprocess.PIPE, text=True, env=env
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while not any("keyframe 4: step" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, lines
    after = [line.strip() for line in lines if "keyframe 4: step" not in line]
    assert after == ["vivid preview: cancelled"], lines  # one line, no traceback
    log = (work / "runtime.log").read_text()
    assert "(edit_keyframe) ended: cancelled" in log
    assert not out.exists() and not (work / "preview" / "000004.png").exists()
