"""Damaged files: truncated or overwritten with noise. Only MediaError, never another exception or a hang."""

from __future__ import annotations

import os

import pytest

from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.probe import probe
from vivid_desktop.media.proxy import build_proxy
from vivid_desktop.media.reader import FrameReader


def _read_all(path) -> tuple[dict[int, int], int]:
    """Frame numbers read from every frame that decodes, and how many raised MediaError."""
    got, failed = {}, 0
    with FrameReader(path, cache_bytes=0) as reader:
        for n in [*range(0, reader.frame_count, 2), *range(reader.frame_count - 1, 0, -2)]:
            try:
                got[n] = synth.read_frame_number(reader.read(n))
            except MediaError:
                failed += 1
    return got, failed


@pytest.mark.timeout(60)
def test_truncated_matroska_reads_every_frame_it_still_has(clips, tmp_path):
    cut = synth.truncated_copy(clips.long_gop_mkv, tmp_path / "cut.mkv", 0.6)
    got, failed = _read_all(cut)
    assert 20 < len(got) < 72 and failed <= 2  # at most the frames in the cut packets fail
    wrong = [n for n, k in got.items() if k != n]
    assert len(wrong) <= 2 and all(n >= max(got) - 3 for n in wrong)  # only a cut frame may be garbled


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["long_gop", "long_gop_mkv"])
@pytest.mark.parametrize("seed", [1, 2])
def test_noise_in_the_middle(clips, tmp_path, name, seed):
    src = getattr(clips, name)
    bad = synth.corrupted_copy(src, tmp_path / f"bad{src.suffix}", start=0.3, length=0.3, seed=seed)
    try:
        info = probe(bad)
    except MediaError as exc:
        assert bad.name in str(exc)
        return
    assert info.frame_count > 0
    got, failed = _read_all(bad)  # any frame: a picture or a MediaError, nothing else
    assert len(got) + failed > 0
    assert got.get(0) == 0  # the undamaged start still reads exactly


@pytest.mark.timeout(60)
def test_proxy_of_a_damaged_file_is_complete_or_absent(clips, tmp_path):
    bad = synth.corrupted_copy(clips.long_gop_mkv, tmp_path / "bad.mkv", start=0.5, length=0.5, seed=3)
    out = tmp_path / "out" / "p.mp4"
    out.parent.mkdir()
    try:
        build_proxy(bad, out)
    except MediaError:
        assert os.listdir(out.parent) == []
    else:
        assert os.listdir(out.parent) == ["p.mp4"]
