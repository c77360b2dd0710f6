"""Bad media: every file ends in a usable clip or one clear line, never a traceback, a hang or a wrong count.

Each case goes through the real ``vivid probe`` command (in-process) and, when it probes, through the
frame reader over every frame; a project is made for it, or refused with nothing left beside the clip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from hostile_helpers import frames, make_project

from vivid_desktop.cli.main import main
from vivid_desktop.core.project import ProjectError
from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.probe import probe
from vivid_desktop.media.reader import FrameReader

SIZE_ERROR = "VIVID edits videos from 16×16 to 8192×8192 pixels"


def _intra(path: Path, size: tuple[int, int], n: int = 3, rate: Fraction | int = 25, same_pts=False) -> Path:
    """An FFV1 Matroska clip (any size, exact rates); ``same_pts`` gives every frame timestamp 0."""
    w, h = size
    with av.open(str(path), "w", format="matroska") as out:
        s = out.add_stream("ffv1", rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv444p"
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((h, w, 3), i * 20, np.uint8), format="rgb24")
            for p in s.encode(frame):
                if same_pts:
                    p.pts = p.dts = 0
                out.mux(p)
        for p in s.encode():
            if same_pts:
                p.pts = p.dts = 0
            out.mux(p)
    return path


def _truncated(fraction: float) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        whole = synth.write_clip(folder / "whole.mkv", frames(24), rate=24, gop=6)
        data = whole.read_bytes()
        path = folder / f"cut-{fraction}.mkv"
        path.write_bytes(data[: int(len(data) * fraction)])
        return path

    return make


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _loop(folder: Path) -> Path:
    path = folder / "loop.mp4"
    path.symlink_to(path)
    return path


def _png_named_mp4(folder: Path) -> Path:
    path = folder / "still.mp4"
    path.write_bytes(cv2.imencode(".png", frames(1)[0])[1].tobytes())
    return path


#: name → (maker, expected: "ok", "error: <text in the message>", or "either")
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zero bytes": (lambda d: _write(d / "zero.mp4", b""), "error: empty"),
    "random bytes": (
        lambda d: _write(d / "rnd.mp4", np.random.default_rng(1).bytes(50_000)),
        "error: not a video file",
    ),
    "truncated 5%": (_truncated(0.05), "either"),
    "truncated 40%": (_truncated(0.4), "either"),
    "truncated 90%": (_truncated(0.9), "either"),
    "audio only": (lambda d: synth.write_audio_only(d / "tone.mp4", seconds=0.3), "error: audio only"),
    "image named .mp4": (_png_named_mp4, "error: still image"),
    "directory named .mp4": (lambda d: (d / "dir.mp4").mkdir() or d / "dir.mp4", "error: is a folder"),
    "1×1": (lambda d: _intra(d / "one.mkv", (1, 1)), f"error: {SIZE_ERROR}"),
    "2×2": (lambda d: _intra(d / "two.mkv", (2, 2)), f"error: {SIZE_ERROR}"),
    "16000×16": (lambda d: _intra(d / "wide.mkv", (16000, 16)), f"error: {SIZE_ERROR}"),
    "one frame per 1000 s": (lambda d: _intra(d / "slow.mkv", (32, 32), 4, Fraction(1, 1000)), "ok"),
    "a million fps in ms ticks": (
        lambda d: _intra(d / "fast.mkv", (32, 32), 4, 1_000_000),
        "error: distinct timestamps",
    ),
    "12 frames, one timestamp": (
        lambda d: _intra(d / "dup.mkv", (32, 32), 12, same_pts=True),
        "error: only 1 distinct timestamps",
    ),
    "variable rate": (
        lambda d: synth.write_custom_clip(
            d / "vfr.mp4", frames(6), rate=30, times=[Fraction(t, 30) for t in (0, 1, 3, 4, 7, 8)]
        ),
        "ok",
    ),
    "rotated": (lambda d: synth.write_custom_clip(d / "rot.mp4", frames(4), rate=30, rotation=90), "ok"),
    "10-bit": (lambda d: synth.write_clip(d / "ten.mp4", frames(4), pix_fmt="yuv420p10le"), "ok"),
    "unicode name": (lambda d: synth.write_clip(d / "clîp – 東京 🎬.mp4", frames(4)), "ok"),
    "symlink loop": (_loop, "error: a link that leads nowhere"),
}


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad-media")
    out = {}
    for i, (name, (make, _)) in enumerate(CASES.items()):
        sub = folder / f"case{i}"
        sub.mkdir()
        out[name] = make(sub)
    return out


def probe_cli(path: Path, capsys) -> tuple[int, str, str]:
    code = main(["probe", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", list(CASES))
def test_bad_media_ends_in_a_clip_or_one_clear_line(media, name, capsys, tmp_path):
    path, expected = media[name], CASES[name][1]
    code, out, err = probe_cli(path, capsys)
    if code != 0:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vivid probe: "), err
        assert "unexpected error" not in err and "Traceback" not in err
        assert expected != "ok", f"{name}: {err}"
        if expected.startswith("error: "):
            assert expected.removeprefix("error: ") in err
        with pytest.raises(MediaError):
            probe(path)
        return
    assert expected in ("ok", "either"), f"{name} probed although it should not: {out}"
    info = probe(path)
    with FrameReader(path) as reader:  # every frame the probe promised decodes, at the clip's size
        shapes = {reader.read(n).shape for n in range(info.frame_count)}
    assert shapes == {(info.height, info.width, 3)}
    store = make_project(tmp_path / "p.vivid", path)
    assert store.project.source.frame_count == info.frame_count


def test_a_file_that_vanishes_mid_read_is_one_clear_error_or_still_read(tmp_path):
    path = synth.write_clip(tmp_path / "gone.mp4", frames(24), rate=24, gop=4)
    reader = FrameReader(path, cache_bytes=0)
    reader.read(0)
    path.unlink()
    try:
        got = [reader.read(n).shape for n in range(reader.frame_count)]  # the open file may still read
        assert len(got) == 24
    except MediaError as exc:
        assert "\n" not in str(exc)
    finally:
        reader.close()
    with pytest.raises(MediaError, match="file not found"):
        FrameReader(path)


def test_a_file_truncated_mid_read_is_one_clear_error_or_still_read(tmp_path):
    path = synth.write_clip(tmp_path / "cut.mkv", frames(24), rate=24, gop=4)
    reader = FrameReader(path, cache_bytes=0)
    reader.read(0)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 3)
    try:
        for n in range(reader.frame_count):
            assert reader.read(n).shape == (32, 48, 3)
    except MediaError as exc:
        assert "\n" not in str(exc)
    finally:
        reader.close()


def test_a_name_that_is_not_utf8_leaves_no_project_folder(tmp_path, clip):
    folder = os.fsencode(tmp_path) + b"/bad-\xff-name"
    os.mkdir(folder)
    path = Path(os.fsdecode(folder + b"/clip.mp4"))
    path.write_bytes(clip.read_bytes())
    with pytest.raises((ProjectError, MediaError)) as caught:
        make_project(path.with_suffix(".vivid"), path)
    assert "UTF-8" in str(caught.value) or "could not be read" in str(caught.value)
    assert sorted(os.listdir(folder)) == [b"clip.mp4"]


def test_a_read_only_folder_gives_a_project_or_one_clear_error(tmp_path, clip):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        store = make_project(folder / "clip.vivid", clip)  # root may write anyway
        assert store.project_file.is_file()
    except ProjectError as exc:
        assert "could not create the project" in str(exc) and not (folder / "clip.vivid").exists()
    finally:
        os.chmod(folder, 0o755)


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "{clip}"],
        ["edit", "{clip}", "--mask", "{mask}", "--task", "delete", "-o", "{out}"],
        ["track", "{clip}", "--mask", "{mask}", "-o", "{out}"],
    ],
    ids=["probe", "edit", "track"],
)
def test_a_looping_link_is_one_line_in_every_command(tmp_path, capsys, argv):
    clip = _loop(tmp_path)
    (tmp_path / "m.png").write_bytes(cv2.imencode(".png", np.zeros((32, 48), np.uint8))[1].tobytes())
    names = {"clip": str(clip), "mask": str(tmp_path / "m.png"), "out": str(tmp_path / "out.mp4")}
    assert main([a.format(**names) for a in argv]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "leads nowhere" in lines[0] and "unexpected" not in lines[0], lines


def test_a_stray_repeated_timestamp_is_skipped_and_logged(tmp_path, caplog):
    """One frame that repeats its neighbour's timestamp cannot be told apart in time: it is skipped (the
    clip still opens) and the log says so, with the file's name."""
    path = tmp_path / "stray.mkv"
    with av.open(str(path), "w", format="matroska") as out:
        s = out.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv444p"
        packets = []
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 20, np.uint8), format="rgb24")
            packets += s.encode(frame)
        packets += s.encode()
        packets[6].pts = packets[6].dts = packets[5].pts
        for p in packets:
            out.mux(p)
    with caplog.at_level("WARNING", logger="vivid_desktop.media.scan"):
        info = probe(path)
    assert info.frame_count in (9, 10)  # the constant-rate timeline may keep the slot (shown twice)
    assert any("stray.mkv: 1 frame(s) repeat" in r.getMessage() for r in caplog.records)
