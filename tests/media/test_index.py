"""FrameIndex: built once, saved beside the project, reused only while the source is unchanged."""

from __future__ import annotations

import os
from fractions import Fraction

import pytest

from vivid_desktop.media.errors import MediaCancelled
from vivid_desktop.media.index import FrameIndex


def test_keyframes_and_lookups(clips):
    index = FrameIndex.build(clips.long_gop)
    assert index.keyframes() == [0, 36]
    assert index.keyframe_at_or_before(35) == 0 and index.keyframe_at_or_before(36) == 36
    assert index.keyframes_before(36, 2) == [0]
    assert index.frame_count == index.source_frame_count == 72
    assert index.time_of(48) == 2 and index.frame_at(Fraction(49, 24)) == 49
    pts = index.frame_pts(10)
    assert index.source_of_pts(pts) == 10 and index.source_of_pts(pts + 1) is None
    assert index.frame_at(100) == 71  # clamped


def test_save_load_round_trip(clips, tmp_path):
    index = FrameIndex.build(clips.vfr)
    file = index.save(tmp_path / "cache")
    assert file.parent == tmp_path / "cache" and file.name.endswith(".frameindex.json")
    assert not [p for p in file.parent.iterdir() if p.name.startswith(".")]  # no temporary left
    loaded = FrameIndex.load(tmp_path / "cache", clips.vfr)
    assert loaded is not None
    assert loaded.info == index.info
    assert loaded.pts.tolist() == index.pts.tolist()
    assert loaded.keyframes() == index.keyframes()
    assert loaded.timeline.tolist() == index.timeline.tolist()
    assert file.stat().st_size < 4000  # run-length coded, not a number per frame


def test_stale_or_damaged_index_is_not_used(clips, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(clips.long_gop.read_bytes())
    folder = tmp_path / "cache"
    file = FrameIndex.build(clip).save(folder)
    assert FrameIndex.load(folder, clip) is not None
    st = clip.stat()
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file was touched/replaced
    assert FrameIndex.load(folder, clip) is None
    rebuilt = FrameIndex.open(clip, folder)  # rebuilds and saves
    assert FrameIndex.load(folder, clip) is not None and rebuilt.frame_count == 72
    file.write_text("{ not json")
    assert FrameIndex.load(folder, clip) is None
    assert FrameIndex.load(tmp_path / "nowhere", clip) is None


def test_progress_and_cancel(clips):
    seen = []
    FrameIndex.build(clips.long_gop, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    with pytest.raises(MediaCancelled):
        FrameIndex.build(clips.long_gop, cancel=lambda: True)
