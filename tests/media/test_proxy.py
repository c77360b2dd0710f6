"""Proxies: small, all-intra, complete or absent; ScrubReader: proxy while scrubbing, exact at rest."""

from __future__ import annotations

import os
import random
import threading

import av
import cv2
import numpy as np
import pytest
from media_clips import VFR_TIMES, H, W

from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.proxy import (
    ProxyCancelled,
    ScrubReader,
    build_proxy,
    default_proxy_path,
    proxy_is_current,
    proxy_size,
)
from vivid_desktop.media.reader import FrameReader


@pytest.fixture(scope="module")
def long_gop_proxy(clips, tmp_path_factory):
    return build_proxy(clips.long_gop, tmp_path_factory.mktemp("proxy") / "long_gop.proxy.mp4", max_lines=48)


def test_proxy_is_small_all_intra_and_frame_exact(clips, long_gop_proxy):
    with av.open(str(long_gop_proxy)) as c:
        stream = c.streams.video[0]
        assert (stream.width, stream.height) == proxy_size(W, H, 48) == (80, 48)
        keys = [p.is_keyframe for p in c.demux(stream) if p.size]
    assert len(keys) == 72 and all(keys)
    assert proxy_is_current(clips.long_gop, long_gop_proxy)
    with FrameReader(long_gop_proxy) as proxy:
        assert proxy.info.rate == 24 and proxy.frame_count == 72
        order = random.Random(5).sample(range(72), 72)
        assert {n: synth.read_frame_number(proxy.read(n)) for n in order} == {n: n for n in order}


def test_rotated_and_variable_rate_sources(clips, tmp_path):
    rotated = build_proxy(clips.rotated, tmp_path / "rot.mp4", max_lines=80)
    with FrameReader(rotated) as proxy:
        assert proxy.info.rotation == 0  # turned once, while building
        assert proxy.size == (48, 80)
        frame = proxy.read(7)
        assert synth.read_frame_number(np.rot90(frame, 1)) == 7
    vfr = build_proxy(clips.vfr, tmp_path / "vfr.mp4")
    with FrameReader(vfr) as proxy, FrameReader(clips.vfr) as source:
        assert not proxy.info.variable_rate and proxy.frame_count == source.frame_count == 28
        for n in (0, 12, 13, 17, 27):  # one proxy frame per timeline frame, same rule
            assert synth.read_frame_number(proxy.read(n)) == source.index.source_frame(n)
    assert len(VFR_TIMES) < 28


def test_progress_default_path_and_no_upscaling(clips, tmp_path):
    clip = tmp_path / "clip.mkv"
    clip.write_bytes(clips.ntsc_mkv.read_bytes())
    seen = []
    out = build_proxy(clip, progress=lambda done, total: seen.append((done, total)))
    assert out == default_proxy_path(clip) == tmp_path / "clip.proxy.mp4"
    assert seen[0] == (1, 30) and seen[-1] == (30, 30)
    with FrameReader(out) as proxy:
        assert proxy.size == (W, H)  # 96 lines is already under 540
        assert proxy.info.rate == probe_rate(clip)


def probe_rate(path):
    from vivid_desktop.media.probe import probe

    return probe(path).rate


def test_cancel_leaves_nothing_and_keeps_an_older_proxy(clips, tmp_path):
    out = tmp_path / "p.mp4"
    out.write_bytes(b"older proxy")
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 10

    with pytest.raises(ProxyCancelled):
        build_proxy(clips.long_gop, out, cancel=cancel)
    assert out.read_bytes() == b"older proxy"
    assert sorted(os.listdir(tmp_path)) == ["p.mp4"]  # no partial file


def test_unusable_source_leaves_nothing(clips, tmp_path):
    with pytest.raises(MediaError, match="not a video file"):
        build_proxy(clips.text_mp4, tmp_path / "p.mp4")
    assert os.listdir(tmp_path) == []


def test_stale_proxy_is_recognised(clips, long_gop_proxy, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(clips.long_gop.read_bytes())
    assert not proxy_is_current(clip, long_gop_proxy)  # another file (other mtime)
    assert not proxy_is_current(clips.long_gop, clips.long_gop)  # a video, but no proxy stamp
    with pytest.raises(MediaError, match="not a current proxy"):
        ScrubReader(clip, long_gop_proxy)


def test_scrub_reader(clips, long_gop_proxy):
    with ScrubReader(clips.long_gop, long_gop_proxy) as scrub:
        assert scrub.frame_count == 72
        fast = scrub.read_fast(50)
        assert fast.shape == (48, 80, 3)  # proxy size: the viewer scales
        assert synth.read_frame_number(fast) == 50
        exact = scrub.read_exact(50)
        assert exact.shape == (H, W, 3) and synth.read_frame_number(exact) == 50
        assert scrub.read_fast(50) is exact  # once exact is cached, scrubbing shows it
    with ScrubReader(clips.long_gop) as plain:  # no proxy yet: exact frames
        assert plain.read_fast(3).shape == (H, W, 3)
        plain.attach_proxy(long_gop_proxy)
        assert plain.read_fast(4).shape == (48, 80, 3)


@pytest.mark.parametrize("name", ["odd", "ten_bit", "prores", "ntsc_mkv"])
def test_proxy_pictures_match_the_exact_frames(clips, tmp_path, name):
    """Every pixel path (4:4:4, 10-bit, 4:2:2, plain 4:2:0) gives the exact frame's picture, smaller."""
    source = getattr(clips, name)
    proxy = build_proxy(source, tmp_path / "p.mp4", max_lines=48)
    with FrameReader(source) as exact, FrameReader(proxy) as small:
        for n in (0, small.frame_count - 1):
            want = cv2.resize(exact.read(n), small.size, interpolation=cv2.INTER_AREA)
            assert np.abs(small.read(n).astype(int) - want).mean() < 6, n


def test_proxy_keeps_the_colour_matrix_of_a_bt709_source(tmp_path):
    """HD footage is tagged BT.709; read with the SD matrix, saturated colours would shift by ~20 levels."""
    bars = np.zeros((96, 160, 3), np.uint8)
    bars[:, :40], bars[:, 40:80], bars[:, 80:120], bars[:, 120:] = (
        (255, 0, 0),
        (0, 255, 0),
        (0, 0, 255),
        (255, 200, 30),
    )
    clip = tmp_path / "hd.mp4"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        ctx = stream.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = 1  # BT.709
        ctx.color_range = 1  # limited
        stream.options = {"crf": "5"}
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(bars, format="rgb24")
            frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with FrameReader(clip) as exact:
        assert np.abs(exact.read(1).astype(int) - bars).mean() < 2
    proxy = build_proxy(clip, tmp_path / "p.mp4", max_lines=48)
    with FrameReader(proxy) as small:
        want = cv2.resize(bars, small.size, interpolation=cv2.INTER_AREA)
        assert np.abs(small.read(1).astype(int) - want).mean() < 2


def test_unwritable_destination_is_a_readable_error(clips, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(MediaError, match="could not be written"):
        build_proxy(clips.ntsc_mkv, blocker / "p.mp4")
    nested = build_proxy(clips.ntsc_mkv, tmp_path / "new" / "folder" / "p.mp4", max_lines=48)
    assert nested.is_file()


def test_fast_and_exact_reads_from_two_threads(clips, long_gop_proxy):
    got: dict[str, list[int]] = {"fast": [], "exact": []}
    with ScrubReader(clips.long_gop, long_gop_proxy, cache_bytes=0) as scrub:
        jobs = {
            "fast": lambda: [scrub.read_fast(n) for n in range(0, 72, 5)],
            "exact": lambda: [scrub.read_exact(n) for n in range(71, 0, -7)],
        }
        threads = [
            threading.Thread(target=lambda k=k: got[k].extend(map(synth.read_frame_number, jobs[k]())))
            for k in jobs
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert got["fast"] == list(range(0, 72, 5))
    assert got["exact"] == list(range(71, 0, -7))
