"""Exporting a project: rendered frames where they exist, source frames elsewhere; ``vivid export``."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from vivid_desktop.cli.main import main
from vivid_desktop.core.files import write_png
from vivid_desktop.core.store import create_project
from vivid_desktop.media import synth
from vivid_desktop.media.export_project import export_project
from vivid_desktop.media.export_writers import read_png
from vivid_desktop.media.probe import probe
from vivid_desktop.media.reader import FrameReader

NTSC = Fraction(30000, 1001)
W, H = 64, 48


@pytest.fixture
def project(tmp_path):
    """A 20-frame NTSC clip with audio, and a render of frames 5–9 drawn with other numbers."""
    clip = synth.write_clip(
        tmp_path / "clip.mp4",
        [synth.numbered_frame(i, W, H) for i in range(20)],
        rate=NTSC,
        audio_seconds=1.0,
    )
    info = probe(clip)
    store = create_project(
        tmp_path / "clip.vivid", clip, width=info.width, height=info.height, rate=info.rate,
        frame_count=info.frame_count,
    )  # fmt: skip
    edit = store.project.add_edit(task="modify", caption="a red car")
    store.add_keyframe(edit.id, 5)
    render = store.prepare_render(edit.id, 5, 10)
    for n in range(5, 10):  # what the runtime would have written
        write_png(store.render_frame_path(render.id, n), synth.numbered_frame(100 + n, W, H))
    store.save()
    return store


def _frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_project_export_uses_renders_and_source_frames(project, tmp_path):
    out = export_project(project, tmp_path / "out.mkv")
    frames = _frames(out)
    assert len(frames) == 20
    with FrameReader(project.project.source.path) as reader:
        source = list(reader.iter_frames(0, 20))
    for n, frame in enumerate(frames):
        if 5 <= n < 10:
            assert np.array_equal(frame, synth.numbered_frame(100 + n, W, H))  # the render, losslessly
        else:
            assert np.array_equal(frame, source[n])  # the decoded source, losslessly
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == NTSC
        assert c.streams.audio  # the source's audio came along


def test_cli_export_range_to_png(project, tmp_path, capsys):
    code = main(["export", str(project.folder), "-o", str(tmp_path / "seq"), "--range", "3:8"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == str(tmp_path / "seq")
    assert "export: 5/5 frames (100%)" in captured.err  # plain progress when not on a terminal
    names = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert names == [f"{i:06d}.png" for i in range(5)]
    numbers = [synth.read_frame_number(read_png(tmp_path / "seq" / n)) for n in names]
    assert numbers == [3, 4, 105, 106, 107]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", "x.mp4", "--range", "5"], "write it as A:B"),
        (["-o", "x.mp4", "--range", "0:99"], "the clip has frames 0 to 19"),
        (["-o", "x.avi"], "cannot tell the export format"),
    ],
)
def test_cli_errors_are_one_line(project, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(project.folder), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and err.startswith("vivid export: ")


def test_cli_in_a_real_process_exports_h264_with_audio(project, tmp_path):
    out = tmp_path / "out.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "vivid_desktop.cli.main", "export", str(project.folder), "-o", str(out),
         "--quality", "draft"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == NTSC
        assert c.streams.audio[0].codec_context.name == "aac"
    assert len(_frames(out)) == 20
    cmd = [
        sys.executable,
        "-m",
        "vivid_desktop.cli.main",
        "export",
        str(tmp_path / "nope.vivid"),
        "-o",
        str(out),
    ]
    missing = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1
    assert missing.stderr.startswith("vivid export: ") and "Traceback" not in missing.stderr


def test_overlapping_edits_compose_like_layers(project, tmp_path):
    """Two edits over the same frames, each render changing its own region of the source: both changes
    are in the output (edit 1's work does not vanish under edit 2), the source everywhere else."""
    with FrameReader(project.project.source.path) as reader:
        source = list(reader.iter_frames(0, 20))
    regions = [(slice(2, 14), slice(3, 20)), (slice(30, 44), slice(40, 60))]
    colours = [(250, 10, 10), (10, 10, 250)]
    for (rows, cols), colour, (start, stop) in zip(regions, colours, [(12, 17), (13, 16)], strict=True):
        edit = project.project.add_edit(task="delete")
        project.add_keyframe(edit.id, start)
        render = project.prepare_render(edit.id, start, stop)
        for n in range(start, stop):  # a render equals the source outside its mask
            frame = source[n].copy()
            frame[rows, cols] = colour
            write_png(project.render_frame_path(render.id, n), frame)
    project.save()

    frames = _frames(export_project(project, tmp_path / "out.mkv", start=10, stop=18))
    assert len(frames) == 8
    for n, frame in zip(range(10, 18), frames, strict=True):
        expected = source[n].copy()
        for (rows, cols), colour, (start, stop) in zip(regions, colours, [(12, 17), (13, 16)], strict=True):
            if start <= n < stop:
                expected[rows, cols] = colour
        assert np.array_equal(frame, expected), n
    assert not np.array_equal(frames[4], source[14]) and np.array_equal(frames[4][20:28], source[14][20:28])
