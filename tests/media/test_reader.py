"""FrameReader: exactly frame n, in any order, for every kind of clip the tests can make."""

from __future__ import annotations

import random
import threading
from fractions import Fraction

import numpy as np
import pytest
from media_clips import VFR_TIMES, H, W, gradients, numbered

from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.reader import FrameReader


def _number(frame: np.ndarray, rotation: int = 0) -> int:
    return synth.read_frame_number(np.rot90(frame, rotation // 90))  # undo a clockwise turn


@pytest.mark.parametrize("name", ["long_gop", "ntsc_mkv", "prores"])
def test_every_frame_in_random_order(clips, name):
    with FrameReader(getattr(clips, name), cache_bytes=0) as reader:
        order = list(range(reader.frame_count))
        random.Random(7).shuffle(order)
        got = {n: _number(reader.read(n)) for n in order}
    assert got == {n: n for n in order}


def test_sequential_reads_decode_forward_without_seeking(clips, monkeypatch):
    with FrameReader(clips.long_gop, cache_bytes=0) as reader:
        seeks = []
        real_seek = reader._decoder.seek
        monkeypatch.setattr(reader._decoder, "seek", lambda k: (seeks.append(k), real_seek(k)))
        assert _number(reader.read(40)) == 40  # GOP 36..71: one seek to keyframe 36
        assert seeks == [36]
        for n in (41, 45, 60, 71):  # ahead in the same GOP: decode forward
            assert _number(reader.read(n)) == n
        assert seeks == [36]
        assert _number(reader.read(10)) == 10  # behind: seek to its GOP (keyframe 0)
        assert seeks == [36, 0]
        assert [_number(f) for f in reader.iter_frames(10, 40)] == list(range(10, 40))
        assert seeks == [36, 0]  # straight through the next keyframe


def test_stepping_back_after_a_seek_decodes_nothing(clips, monkeypatch):
    with FrameReader(clips.long_gop, cache_bytes=0) as reader:
        assert _number(reader.read(60)) == 60
        decoder = reader._decoder
        monkeypatch.setattr(decoder, "seek", lambda k: pytest.fail("seeked"))
        monkeypatch.setattr(decoder, "_next_frame", lambda *a: pytest.fail("decoded"))
        assert [_number(reader.read(n)) for n in range(59, 52, -1)] == list(range(59, 52, -1))


def test_cache_serves_repeated_reads_and_frames_are_read_only(clips):
    with FrameReader(clips.long_gop) as reader:
        first = reader.read(5)
        assert reader.is_cached(5)
        assert reader.read(5) is first
        assert reader.cache.hits >= 1
        with pytest.raises(ValueError):
            first[0, 0, 0] = 1
        fresh = next(reader.iter_frames(5, 6))
        fresh[0, 0, 0] = 1  # iter_frames hands out writable copies
        assert np.array_equal(reader.read(5), first)


def test_rotation_applied(clips):
    with FrameReader(clips.rotated) as reader:
        assert reader.size == (H, W)
        frames = [reader.read(n) for n in (11, 0, 6)]
    for n, frame in zip((11, 0, 6), frames, strict=True):
        assert frame.shape == (W, H, 3)
        assert _number(frame, 90) == n
        # turned clockwise: the code row (top of the stored picture) is now the right-hand column
        upright = synth.numbered_frame(n, W, H)
        assert np.abs(np.rot90(frame, 1).astype(int) - upright).mean() < 6


def test_odd_size(clips):
    with FrameReader(clips.odd) as reader:
        frame = reader.read(4)
    assert frame.shape == (481, 853, 3)
    assert np.abs(frame.astype(int) - numbered(6, 853, 481)[4]).mean() < 4


def test_ten_bit_converts_to_the_right_colours(clips):
    source = gradients(8)
    with FrameReader(clips.ten_bit) as reader:
        frames = [reader.read(n) for n in range(8)]
    for want, got in zip(source, frames, strict=True):
        assert got.dtype == np.uint8 and got.shape == (H, W, 3)
        assert np.abs(got.astype(int) - want).mean() < 2.5  # wrong bit handling is off by ~100


def test_variable_rate_follows_the_timeline_rule(clips):
    with FrameReader(clips.vfr) as reader:
        assert reader.frame_count == 28
        got = {n: _number(reader.read(n)) for n in random.Random(3).sample(range(28), 28)}
        sequential = [_number(f) for f in reader.iter_frames()]
    # expected, independently: the latest frame whose time is before (n + 1/2) / 30
    expected = [max(k for k, t in enumerate(VFR_TIMES) if t < Fraction(2 * n + 1, 60)) for n in range(28)]
    assert [got[n] for n in range(28)] == expected
    assert sequential == expected
    assert 11 not in expected  # frame 12 came 5 ms after frame 11: one slot, the later one wins
    assert expected[16:20] == [14, 14, 14, 14]  # a stall repeats the last frame


def test_out_of_range_and_closed(clips):
    with FrameReader(clips.long_gop) as reader:
        with pytest.raises(MediaError, match="outside the clip"):
            reader.read(72)
        with pytest.raises(MediaError):
            reader.read(-1)
    assert _number(reader.read(3)) == 3  # reopens after close rather than crashing


def test_given_index_is_used_and_a_stale_one_rebuilt(clips, tmp_path):
    index = FrameIndex.build(clips.ntsc_mkv)
    with FrameReader(clips.ntsc_mkv, index=index) as reader:
        assert reader.index is index
    copy = tmp_path / "copy.mkv"
    copy.write_bytes(clips.long_gop_mkv.read_bytes())
    with FrameReader(copy, index=index) as reader:  # an index of another file: rebuilt
        assert reader.frame_count == 72 and reader.index is not index


def test_one_reader_shared_by_threads(clips):
    results: dict[int, int] = {}
    errors: list[BaseException] = []
    with FrameReader(clips.long_gop, cache_bytes=0) as reader:

        def work(frames):
            try:
                for n in frames:
                    results[n] = _number(reader.read(n))
            except BaseException as exc:  # reported below; a thread must not die silently
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(range(i, 72, 3),)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors
    assert results == {n: n for n in range(72)}
