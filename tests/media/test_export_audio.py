"""Audio in exports: carried over (copied or re-encoded), trimmed to the video, in sync with the in-point."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vivid_desktop.media import synth
from vivid_desktop.media.export import export_video

NTSC = Fraction(30000, 1001)
RATE = 48000
AAC_FRAME = 1024


def _noise_clip(
    path: Path, frames: int, rate: Fraction, codec: str, seconds: float, delay: int = 0
) -> np.ndarray:
    """A clip whose audio is low-passed noise (so an offset shows in a cross-correlation), starting
    ``delay`` samples after the video; returns the signal."""
    rng = np.random.default_rng(3)
    total = int(seconds * RATE)
    noise = np.convolve(rng.standard_normal(total + 15), np.ones(16) / 16, mode="valid")[:total]
    signal = (0.5 * noise / np.abs(noise).max()).astype(np.float32)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = out.add_stream(codec, rate=RATE)
        audio.layout = "mono"
        fmt = audio.codec_context.codec.audio_formats[0].name
        for i in range(frames):
            out.mux(video.encode(av.VideoFrame.from_ndarray(synth.numbered_frame(i, 64, 48), format="rgb24")))
        out.mux(video.encode())
        step = audio.codec_context.frame_size or 1024
        for t0 in range(0, total, step):
            part = signal[t0 : t0 + step]
            data = (part * 32767).astype(np.int16) if fmt == "s16" else part
            frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=fmt, layout="mono")
            frame.sample_rate, frame.pts = RATE, t0 + delay
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return signal


def _audio(path: Path) -> tuple[np.ndarray, str]:
    """The decoded first channel and the codec name of the first audio stream."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        chunks = [
            f.to_ndarray().reshape(f.samples, -1)[:, 0] if not f.format.is_planar else f.to_ndarray()[0]
            for f in c.decode(stream)
        ]
        data = np.concatenate(chunks).astype(np.float64)
        if data.dtype.kind == "i" or np.abs(data).max() > 2:
            data /= 32768
        return data, stream.codec_context.name


def _lag(exported: np.ndarray, source: np.ndarray, start: int) -> int:
    """How many samples the export is late (+) or early (−) against ``source[start:]``."""
    a = exported[2048 : 2048 + 8192]
    search = 2048
    ref = source[start + 2048 - search : start + 2048 + 8192 + search]
    scores = np.correlate(ref, a, mode="valid")
    return search - int(np.argmax(scores))


def _video_duration(path: Path) -> Fraction:
    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(video=0))
        return frames / Fraction(c.streams.video[0].average_rate)


@pytest.mark.parametrize("out_name", ["out.mp4", "out.mov", "out.mkv"])
def test_aac_source_is_copied_trimmed_and_in_sync(tmp_path, out_name):
    source = _noise_clip(tmp_path / "src.mp4", 60, NTSC, "aac", 3.0)
    start_frame = 17
    frames = [synth.numbered_frame(i, 64, 48) for i in range(start_frame, start_frame + 40)]
    out = export_video(
        frames,
        tmp_path / out_name,
        rate=NTSC,
        audio_source=tmp_path / "src.mp4",
        audio_start=Fraction(start_frame) / NTSC,
        quality="draft",
    )
    audio, codec = _audio(out)
    assert codec == "aac"  # AAC goes into MP4, MOV and MKV as it is
    want = 40 / NTSC * RATE
    assert abs(len(audio) - want) <= AAC_FRAME
    # A copy cuts on a packet boundary: at most half a packet from the in-point.
    assert abs(_lag(audio, source, round(Fraction(start_frame) / NTSC * RATE))) <= AAC_FRAME // 2
    assert _video_duration(out) == Fraction(40) / NTSC


@pytest.mark.parametrize(
    ("out_name", "codec"), [("out.mp4", "aac"), ("out.mov", "pcm_s16le"), ("out.mkv", "pcm_s16le")]
)
def test_pcm_source_is_trimmed_to_the_sample(tmp_path, out_name, codec):
    source = _noise_clip(tmp_path / "src.mkv", 50, Fraction(25), "pcm_s16le", 2.5)
    frames = [synth.numbered_frame(i, 64, 48) for i in range(30)]
    out = export_video(
        frames,
        tmp_path / out_name,
        rate=25,
        audio_source=tmp_path / "src.mkv",
        audio_start=Fraction(7, 25),
        quality="draft",
    )
    audio, got_codec = _audio(out)
    assert got_codec == codec  # PCM stays PCM where the container takes it; MP4 gets AAC
    want = 30 * RATE // 25
    start = 7 * RATE // 25
    if codec == "aac":
        assert abs(len(audio) - want) <= AAC_FRAME
        assert abs(_lag(audio, source, start)) <= 2
    else:
        assert len(audio) == want
        assert np.abs(audio - source[start : start + want]).max() < 1e-4  # the same samples, exactly cut


def test_synth_clip_audio_is_trimmed_to_the_video(tmp_path):
    src = synth.write_clip(
        tmp_path / "src.mp4",
        [synth.numbered_frame(i, 64, 48) for i in range(20)],
        rate=NTSC,
        audio_seconds=2.0,
    )
    out = export_video(
        [synth.numbered_frame(i, 64, 48) for i in range(20)],
        tmp_path / "out.mp4",
        rate=NTSC,
        audio_source=src,
        quality="draft",
    )
    audio, _ = _audio(out)
    assert abs(len(audio) - 20 / NTSC * RATE) <= AAC_FRAME
    with av.open(str(out)) as c:
        stream = c.streams.audio[0]
        assert abs(stream.duration * stream.time_base - 20 / NTSC) <= Fraction(AAC_FRAME, RATE)


def test_source_without_audio_gives_silent_export_and_png_carries_none(tmp_path):
    src = synth.write_clip(tmp_path / "src.mp4", [synth.numbered_frame(i, 64, 48) for i in range(5)], rate=25)
    out = export_video(
        [synth.numbered_frame(i, 64, 48) for i in range(5)],
        tmp_path / "out.mp4",
        rate=25,
        audio_source=src,
        quality="draft",
    )
    with av.open(str(out)) as c:
        assert not c.streams.audio
    seq = export_video(
        [synth.numbered_frame(i, 64, 48) for i in range(2)], tmp_path / "seq", rate=25, audio_source=src
    )
    assert sorted(p.name for p in seq.iterdir()) == ["000000.png", "000001.png"]


def test_audio_starting_after_the_video_stays_in_place(tmp_path):
    delay = 14400  # 0.3 s
    signal = _noise_clip(tmp_path / "pcm.mkv", 25, Fraction(25), "pcm_s16le", 1.5, delay=delay)
    frames = [synth.numbered_frame(i, 64, 48) for i in range(25)]
    out = export_video(frames, tmp_path / "out.mkv", rate=25, audio_source=tmp_path / "pcm.mkv")
    audio, _ = _audio(out)
    assert len(audio) == RATE  # one second, like the video
    assert not audio[:delay].any()  # silence until the source's audio begins …
    assert np.abs(audio[delay:] - signal[: RATE - delay]).max() < 1e-4  # … then exactly the source
    _noise_clip(tmp_path / "aac.mp4", 25, Fraction(25), "aac", 1.5, delay=delay)
    out = export_video(
        frames, tmp_path / "out.mp4", rate=25, audio_source=tmp_path / "aac.mp4", quality="draft"
    )
    placed = _placed_audio(out)  # each decoded frame put at its own timestamp
    assert np.abs(placed[: delay - AAC_FRAME]).max() < 0.01  # nothing audible before the source starts
    assert abs(_lag(placed[delay:], signal, 0)) <= AAC_FRAME // 2  # and in sync after it


def _placed_audio(path: Path) -> np.ndarray:
    """The first channel of the first audio stream, each frame placed at its timestamp (gaps are zero)."""
    out = np.zeros(10 * RATE)
    with av.open(str(path)) as c:
        for f in c.decode(audio=0):
            at = round(f.pts * Fraction(f.time_base) * RATE)
            out[at : at + f.samples] = f.to_ndarray()[0]
    return out
