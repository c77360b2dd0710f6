"""An export appears at its final name only when complete: cancel, failure and a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pytest

from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.export import ExportCancelled, export_video


def _frames(n: int):
    for i in range(n):
        yield synth.numbered_frame(i, 64, 48)


@pytest.mark.parametrize("name", ["out.mp4", "out.mov", "out.mkv", "seq"])
def test_cancel_leaves_nothing(tmp_path, name):
    calls = 0

    def cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    with pytest.raises(ExportCancelled) as info:
        export_video(_frames(20), tmp_path / name, rate=25, cancel=cancel)
    assert isinstance(info.value, MediaError)
    assert list(tmp_path.iterdir()) == []


def test_failing_frame_source_keeps_the_previous_file(tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the previous export")

    def broken():
        yield from _frames(5)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        export_video(broken(), out, rate=25)
    assert out.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_a_killed_export_never_leaves_a_file_at_the_final_name(tmp_path):
    out = tmp_path / "out.mp4"
    script = (
        "import sys, time\n"
        "from vivid_desktop.media import synth\n"
        "from vivid_desktop.media.export import export_video\n"
        "def frames():\n"
        "    i = 0\n"
        "    while True:\n"
        "        yield synth.numbered_frame(i % 100, 64, 48)\n"
        "        i += 1\n"
        "        if i == 30: print('encoding', flush=True)\n"
        "        time.sleep(0.005)\n"
        "export_video(frames(), sys.argv[1], rate=25)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "encoding"
        time.sleep(0.1)
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
        assert partial and partial[0].stat().st_size > 0  # it was writing
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert not out.exists()
    # What is left is hidden and named .partial, so nothing takes it for a finished export.
    assert all(p.name.startswith(".") and p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_finished_export_is_complete_at_its_final_name(tmp_path):
    seen_at_final: list[bool] = []
    out = tmp_path / "out.mkv"
    export_video(
        (np.full((8, 8, 3), i, np.uint8) for i in range(5)),
        out,
        rate=Fraction(24),
        progress=lambda done, total: seen_at_final.append(out.exists()),
    )
    assert seen_at_final == [False] * 5
    assert out.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]
