"""Export round trips: frame count, exact rate and timestamps, lossless equality, odd sizes, containers."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.export import export_folder, export_video, infer_format
from vivid_desktop.media.export_writers import read_png

NTSC = Fraction(30000, 1001)


def _noise_frames(n: int, width: int, height: int, channels: int = 3, seed: int = 0) -> list[np.ndarray]:
    """Frames no lossy codec could reproduce exactly: a lossless export must."""
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-9)))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _decode(path) -> tuple[list[np.ndarray], list[Fraction], av.video.stream.VideoStream]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames, times = [], []
        for f in c.decode(stream):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(f.pts * Fraction(f.time_base))
        return frames, times, stream


def test_h264_keeps_frame_count_exact_rate_and_timestamps(tmp_path):
    frames = [synth.numbered_frame(i, 64, 48) for i in range(24)]
    out = export_video(frames, tmp_path / "out.mp4", rate=NTSC, quality="draft")
    decoded, times, stream = _decode(out)
    assert stream.codec_context.name == "h264"
    assert stream.average_rate == NTSC
    assert len(decoded) == 24
    assert times == [Fraction(i) / NTSC for i in range(24)]
    assert [synth.read_frame_number(f) for f in decoded] == list(range(24))
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert not c.streams.audio


def test_ffv1_is_lossless_at_25fps(tmp_path):
    frames = _noise_frames(10, 65, 47)  # odd size: FFV1 needs no padding
    out = export_video(frames, tmp_path / "out.mkv", rate=25)
    decoded, times, stream = _decode(out)
    assert stream.codec_context.name == "ffv1"
    assert stream.average_rate == 25
    assert len(decoded) == len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(decoded, frames, strict=True))
    assert times == [Fraction(i, 25) for i in range(10)]  # 40 ms steps are exact in Matroska's 1 ms clock


def test_ffv1_ntsc_rate_survives_matroska_millisecond_clock(tmp_path):
    out = export_video(_noise_frames(12, 32, 24), tmp_path / "out.mkv", rate=NTSC)
    _, times, stream = _decode(out)
    assert stream.average_rate == NTSC
    # Matroska stores milliseconds: each timestamp is the exact one rounded to 1 ms.
    assert [round(t * 1000) for t in times] == [round(Fraction(i) / NTSC * 1000) for i in range(12)]


def test_png_sequence_equals_input(tmp_path):
    frames = _noise_frames(5, 33, 17)
    out = export_video(frames, tmp_path / "seq", rate=25)
    assert out.is_dir()
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.png" for i in range(5)]
    assert all(np.array_equal(read_png(out / f"{i:06d}.png"), frames[i]) for i in range(5))


def test_png_sequence_replaces_an_old_export_but_never_a_folder_with_other_files(tmp_path):
    seq = tmp_path / "seq"
    export_video(_noise_frames(6, 16, 16), seq, rate=25)
    export_video(_noise_frames(3, 16, 16, seed=1), seq, rate=25)
    assert sorted(p.name for p in seq.iterdir()) == [f"{i:06d}.png" for i in range(3)]
    (seq / "notes.txt").write_text("mine")
    with pytest.raises(MediaError, match="other files"):
        export_video(_noise_frames(3, 16, 16), seq, rate=25)
    assert (seq / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]


def test_export_folder_round_trip_and_missing_frame(tmp_path):
    frames = _noise_frames(4, 20, 10)
    seq = export_video(frames, tmp_path / "seq", rate=24)
    out = export_folder(seq, tmp_path / "again.mkv", rate=24)
    decoded, _, _ = _decode(out)
    assert all(np.array_equal(a, b) for a, b in zip(decoded, frames, strict=True))
    (seq / "000002.png").unlink()
    with pytest.raises(MediaError, match=r"000002\.png is missing"):
        export_folder(seq, tmp_path / "gap.mkv", rate=24)


def test_odd_size_h264_is_padded_not_scaled(tmp_path):
    width, height = 853, 481
    frames = synth.pan_scene(3, width, height, seed=2).frames
    out = export_video(frames, tmp_path / "odd.mp4", rate=25)
    decoded, _, _ = _decode(out)
    assert len(decoded) == 3
    assert decoded[0].shape == (482, 854, 3)  # padded by one column and one row, never scaled
    for got, want in zip(decoded, frames, strict=True):
        content = _luma(got[:height, :width])
        # Luma: 4:2:0 halves the colour resolution of any H.264 export; the picture itself must be intact,
        # at the same place (a one-pixel shift or a rescale would cost far more than the encoder does).
        assert _psnr(content, _luma(want)) > 32  # 36.3 with PyAV 17–18's x264; a 1-px shift gives ~26
        for axis in (0, 1):
            assert _psnr(content, np.roll(_luma(want), 1, axis=axis)) < _psnr(content, _luma(want)) - 6
        # The padding repeats the edge, so no dark border appears if a player shows it.
        assert np.abs(_luma(got)[:height, width].astype(int) - _luma(want)[:, -1]).mean() < 4
    with av.open(str(out)) as c:
        assert "853x481" in c.metadata.get("comment", "")


def test_h265_and_prores_probe_correctly(tmp_path):
    frames = [synth.numbered_frame(i, 64, 48) for i in range(6)]
    hevc = export_video(frames, tmp_path / "out.mp4", rate=NTSC, format="h265", quality="draft")
    prores = export_video(frames, tmp_path / "out.mov", rate=25)
    with av.open(str(hevc)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.codec_context.codec_tag, v.average_rate) == ("hevc", "hvc1", NTSC)
        assert v.codec_context.pix_fmt == "yuv420p"
    with av.open(str(prores)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.codec_context.profile, v.codec_context.codec_tag) == (
            "prores",
            "HQ",
            "apch",
        )
        assert v.codec_context.pix_fmt == "yuv422p10le"
        assert v.average_rate == 25
    for path in (hevc, prores):
        decoded, times, _ = _decode(path)
        assert [synth.read_frame_number(f) for f in decoded] == list(range(6))
        assert len(times) == 6


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.mp4", "h264"), ("a.M4V", "h264"), ("a.mov", "prores"), ("a.mkv", "ffv1"), ("frames", "png")],
)
def test_format_follows_the_extension(tmp_path, name, expected):
    assert infer_format(tmp_path / name).name == expected


def test_existing_folder_means_png_and_explicit_format_wins(tmp_path):
    (tmp_path / "dir.mp4").mkdir()
    assert infer_format(tmp_path / "dir.mp4").name == "png"
    assert infer_format(tmp_path / "x.mp4", "h265").name == "h265"
    assert infer_format(tmp_path / "x.mp4", "H264").name == "h264"
    assert infer_format(tmp_path / "shot_010.v2", "png").name == "png"  # a folder name with a dot
    assert infer_format(tmp_path / "not_made_yet", "png").name == "png"  # a folder still to be created
    with pytest.raises(MediaError, match="is a video file name"):
        infer_format(tmp_path / "x.mov", "png")
    with pytest.raises(MediaError, match="is a folder"):
        infer_format(tmp_path / "dir.mp4", "h264")


def test_bad_format_and_bad_inputs_say_what_is_wrong(tmp_path):
    frames = _noise_frames(2, 16, 16)
    with pytest.raises(MediaError, match=r"unknown export format 'gif'.*h264"):
        export_video(frames, tmp_path / "x.mp4", rate=25, format="gif")
    with pytest.raises(MediaError, match=r"cannot tell the export format from 'x.avi'"):
        export_video(frames, tmp_path / "x.avi", rate=25)
    with pytest.raises(MediaError, match="unknown quality"):
        export_video(frames, tmp_path / "x.mp4", rate=25, quality="ultra")
    with pytest.raises(MediaError, match="no frames"):
        export_video([], tmp_path / "x.mp4", rate=25)
    with pytest.raises(MediaError, match="not a float"):
        export_video(frames, tmp_path / "x.mp4", rate=29.97)
    with pytest.raises(MediaError, match="every frame of an export must match"):
        export_video([frames[0], frames[1][:8]], tmp_path / "x.mkv", rate=25)
    with pytest.raises(MediaError, match="does not exist"):
        export_video(frames, tmp_path / "missing" / "x.mkv", rate=25)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_progress_reports_every_frame(tmp_path):
    seen: list[tuple[int, int | None]] = []
    frames = _noise_frames(4, 16, 16)  # a list: its length is the total
    export_video(frames, tmp_path / "p.mkv", rate=25, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    seen.clear()
    export_video(iter(frames), tmp_path / "q.mkv", rate=25, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, None), (2, None), (3, None), (4, None)]
