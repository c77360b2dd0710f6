"""``vivid probe`` and ``vivid proxy``: JSON out, progress lines when piped, one-line failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from vivid_desktop.cli.main import main
from vivid_desktop.cli.progress import Progress


def _vivid(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vivid_desktop.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def test_probe_prints_json(clips, capsys):
    assert main(["probe", str(clips.ntsc_audio)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rate"] == "30000/1001" and doc["frame_count"] == 30
    assert doc["width"] == 160 and doc["audio"][0]["codec"] == "aac"


def test_probe_failure_is_one_line_in_a_real_process(clips):
    done = _vivid("probe", str(clips.text_mp4))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("vivid probe: notes.mp4 is not a video file")


def test_proxy_piped_prints_plain_progress_and_the_path(clips, tmp_path):
    out = tmp_path / "p.mp4"
    done = _vivid("proxy", str(clips.long_gop), "-o", str(out), "--max-lines", "48")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and out.is_file()
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "proxy: 72/72 frames (100%)"
    assert all(line.startswith("proxy: ") for line in lines)


def test_proxy_failures(clips, tmp_path, capsys):
    assert main(["proxy", str(clips.audio_only), "-o", str(tmp_path / "p.mp4")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "audio only" in err
    assert main(["proxy", str(clips.long_gop), "--max-lines", "1"]) == 1
    assert os.listdir(tmp_path) == []


def test_ctrl_c_leaves_no_partial_proxy(clips, tmp_path, monkeypatch, capsys):
    def interrupt(self, done, total=None):
        if done == 10:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "update", interrupt)
    assert main(["proxy", str(clips.long_gop), "-o", str(tmp_path / "p.mp4")]) == 130
    assert os.listdir(tmp_path) == []
    assert "cancelled" in capsys.readouterr().err
