"""Thumbnail strips: one picture per slot, from keyframes only, or exact from the proxy."""

from __future__ import annotations

import numpy as np

from vivid_desktop.media import synth
from vivid_desktop.media.decoder import Decoder
from vivid_desktop.media.proxy import build_proxy
from vivid_desktop.media.thumbnails import thumbnail_frames, thumbnail_size, thumbnail_strip


def test_slots():
    assert thumbnail_frames(72, 4) == [9, 27, 45, 63]
    assert thumbnail_frames(3, 5) == [0, 0, 1, 2, 2]
    assert thumbnail_frames(0, 4) == [] and thumbnail_frames(10, 0) == []
    assert thumbnail_size(1920, 1080, 54) == (96, 54)


def test_keyframe_strip_decodes_keyframes_only(clips, monkeypatch):
    decoded = []
    real = Decoder._next_frame

    def spy(self, target_pts):
        frame = real(self, target_pts)
        if frame is not None:
            decoded.append(frame.pts)
        return frame

    monkeypatch.setattr(Decoder, "_next_frame", spy)
    strip = thumbnail_strip(clips.long_gop, 6, 48)
    assert len(strip) == 6 and all(t.shape == (48, 80, 3) for t in strip)
    assert [synth.read_frame_number(t) for t in strip] == [0, 0, 0, 36, 36, 36]
    assert len(decoded) == 2  # the two keyframes, nothing else


def test_proxy_strip_is_exact(clips, tmp_path):
    proxy = build_proxy(clips.long_gop, tmp_path / "p.mp4", max_lines=48)
    strip = thumbnail_strip(clips.long_gop, 4, 48, proxy=proxy)
    assert [synth.read_frame_number(t) for t in strip] == [9, 27, 45, 63]


def test_rotated_strip_is_upright(clips):
    (thumb,) = thumbnail_strip(clips.rotated, 1, 80)
    assert thumb.shape == (80, 48, 3)  # display aspect W:H = 96:160
    assert synth.read_frame_number(np.rot90(thumb, 1)) == 0
