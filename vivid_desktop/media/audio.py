"""The source's audio for playback: decoded once to 16-bit PCM on the timeline's clock, and its waveform.

``decode_audio(path)`` returns a :class:`PCM` whose sample 0 is the source's first video frame (audio
before it is not part of the timeline; a track that starts later is padded with silence), resampled to
``RATE`` Hz, mono or stereo interleaved. ``PCM.at(frame, rate)`` gives the byte offset of a video
frame, so playback and scrubbing read exactly the audio under the playhead. ``waveform(pcm, buckets)``
gives the peaks the timeline draws. Decoding runs on a worker thread (a minute of stereo is ~11 MB).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vivid_desktop.media.errors import MediaCancelled, MediaError, open_container

RATE = 48_000
SAMPLE_BYTES = 2  # signed 16-bit


@dataclass(frozen=True)
class PCM:
    """Interleaved signed 16-bit samples at ``rate`` Hz; sample 0 is at the first video frame."""

    data: np.ndarray  # (samples, channels) int16
    rate: int
    channels: int

    @property
    def frame_bytes(self) -> int:
        """Bytes of one sample across all channels."""
        return self.channels * SAMPLE_BYTES

    @property
    def seconds(self) -> float:
        return len(self.data) / self.rate

    def at(self, frame: int, video_rate: Fraction) -> int:
        """The sample index where video frame ``frame`` starts (exact rational time, rounded down)."""
        return int(Fraction(frame) / Fraction(video_rate) * self.rate)

    def chunk(self, start: int, count: int) -> bytes:
        """``count`` samples from ``start`` as bytes (silence past the end, nothing before 0)."""
        start = max(0, start)
        part = self.data[start : start + count]
        if len(part) < count:
            part = np.concatenate([part, np.zeros((count - len(part), self.channels), np.int16)])
        return part.tobytes()


def decode_audio(
    path: str | Path, start_time: Fraction = Fraction(0), cancelled: Callable[[], bool] = lambda: False
) -> PCM | None:
    """The first audio stream of ``path`` as :class:`PCM` (None when there is none).

    ``start_time`` is the timestamp of the first video frame (``ClipInfo.start_time``).
    """
    with open_container(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        channels = 1 if (stream.channels or 1) == 1 else 2
        resampler = av.AudioResampler(format="s16", layout="mono" if channels == 1 else "stereo", rate=RATE)
        parts: list[np.ndarray] = []
        first: Fraction | None = None
        try:
            for frame in container.decode(stream):
                if cancelled():
                    raise MediaCancelled("audio decoding cancelled")
                if first is None and frame.pts is not None and frame.time_base is not None:
                    first = Fraction(frame.pts) * Fraction(frame.time_base)
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1, channels))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1, channels))
        except av.FFmpegError as exc:
            raise MediaError(f"{Path(path).name}: the audio cannot be decoded ({exc})", Path(path)) from None
    data = np.concatenate(parts) if parts else np.zeros((0, channels), np.int16)
    offset = int(((first or Fraction(0)) - Fraction(start_time)) * RATE)
    if offset > 0:  # the audio starts after the first video frame
        data = np.concatenate([np.zeros((offset, channels), np.int16), data])
    elif offset < 0:  # audio before the first video frame is not on the timeline
        data = data[-offset:]
    return PCM(np.ascontiguousarray(data), RATE, channels)


def waveform(pcm: PCM, buckets: int) -> np.ndarray:
    """``(buckets, 2)`` float32 min/max in [-1, 1] over equal slices of the audio (channels mixed)."""
    if buckets <= 0 or len(pcm.data) == 0:
        return np.zeros((max(0, buckets), 2), np.float32)
    mono = pcm.data.astype(np.float32).mean(axis=1) / 32768.0
    edges = np.linspace(0, len(mono), buckets + 1).astype(np.int64)
    out = np.zeros((buckets, 2), np.float32)
    for i in range(buckets):
        part = mono[edges[i] : max(edges[i + 1], edges[i] + 1)]
        out[i] = (part.min(), part.max())
    return out
