"""probe(): the facts of real files PyAV wrote, and one readable error for everything unusable."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import pytest
from media_clips import VFR_TIMES, H, W

from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.probe import MediaInfo, probe


def test_constant_rate_h264_with_b_frames(clips):
    info = probe(clips.long_gop)
    assert (info.width, info.height) == (W, H)
    assert (info.coded_width, info.coded_height) == (W, H)
    assert info.rotation == 0
    assert info.rate == 24 and not info.variable_rate
    assert info.frame_count == info.source_frame_count == 72
    assert info.duration == Fraction(3)
    assert info.video_codec == "h264"
    assert info.pix_fmt == "yuv420p" and info.bit_depth == 8
    assert info.sample_aspect_ratio == 1
    assert info.audio == []
    # the clip really has B-frames: decode order differs from presentation order
    with av.open(str(clips.long_gop)) as c:
        pts = [p.pts for p in c.demux(c.streams.video[0]) if p.size]
    assert pts != sorted(pts)


@pytest.mark.parametrize("name", ["ntsc_mkv", "ntsc_audio"])
def test_ntsc_rate_stays_exact(clips, name):
    info = probe(getattr(clips, name))
    assert info.rate == Fraction(30000, 1001)
    assert not info.variable_rate  # Matroska's 1 ms rounding is not variable rate
    assert info.frame_count == 30
    assert info.duration == Fraction(30 * 1001, 30000)


def test_audio_stream(clips):
    info = probe(clips.ntsc_audio)
    (audio,) = info.audio
    assert audio.codec == "aac" and audio.sample_rate == 48000 and audio.channels == 2
    assert abs(audio.duration - info.duration) <= Fraction(1024, 48000)  # within one AAC frame
    assert info.has_audio


def test_odd_size(clips):
    info = probe(clips.odd)
    assert (info.width, info.height) == (853, 481)
    assert info.pix_fmt == "yuv444p"
    assert info.frame_count == 6 and info.rate == 25


def test_rotation_from_display_matrix(clips):
    info = probe(clips.rotated)
    assert info.rotation == 90
    assert (info.width, info.height) == (H, W)  # display size: turned
    assert (info.coded_width, info.coded_height) == (W, H)


def test_variable_rate(clips):
    info = probe(clips.vfr)
    assert info.variable_rate
    assert info.rate == 30  # the camera's nominal rate, not the average
    assert info.source_frame_count == len(VFR_TIMES)
    assert info.frame_count == 28  # 0 … 27/30 s on a 30 fps timeline
    assert info.duration == Fraction(28, 30)


@pytest.mark.parametrize(("name", "pix_fmt"), [("ten_bit", "yuv420p10le"), ("prores", "yuv422p10le")])
def test_ten_bit(clips, name, pix_fmt):
    info = probe(getattr(clips, name))
    assert info.pix_fmt == pix_fmt and info.bit_depth == 10


def test_to_dict_is_json_and_round_trips(clips):
    info = probe(clips.ntsc_audio)
    doc = json.loads(json.dumps(info.to_dict()))
    assert doc["rate"] == "30000/1001" and doc["fps"] == pytest.approx(29.97, abs=0.01)
    assert doc["audio"][0]["sample_rate"] == 48000
    assert MediaInfo.from_dict(doc) == info


def _unusable(clips, tmp_path):
    long_gop = clips.long_gop
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    empty = tmp_path / "empty.mp4"
    empty.touch()
    return {
        "text": (clips.text_mp4, "not a video file"),
        "png": (clips.png, "still image"),
        "audio": (clips.audio_only, "audio only"),
        "zero": (clips.zero_frames, "no video frames"),
        "missing": (tmp_path / "nope.mp4", "not found"),
        "folder": (folder, "folder"),
        "empty": (empty, "empty"),
        "truncated": (synth.truncated_copy(long_gop, tmp_path / "cut.mp4", 0.5), "not a video file"),
    }


def test_unusable_inputs_raise_one_readable_error(clips, tmp_path):
    for case, (path, words) in _unusable(clips, tmp_path).items():
        with pytest.raises(MediaError) as err:
            probe(path)
        message = str(err.value)
        assert words in message, (case, message)
        assert path.name in message and "\n" not in message, case


def test_truncated_matroska_probes_what_is_there(clips, tmp_path):
    cut = synth.truncated_copy(clips.long_gop_mkv, tmp_path / "cut.mkv", 0.6)
    info = probe(cut)
    assert 20 < info.frame_count < 72
