"""Carry a source's audio into an export, trimmed to the exported range and interleaved with the video.

Time zero of the export is ``audio_start`` seconds after the source's first video frame (the in-point of
the range), and the audio ends with the video. Each audio stream is either

- **copied** packet by packet when the container accepts its codec: the cut falls on the packet boundary
  nearest the in-point (at most half a packet, ~10 ms for AAC at 48 kHz, away from it); the packet before
  it is kept as priming where the container can mark it "skip" (MP4/MOV edit lists); the last packet is
  the one whose middle lies before the out-point, so the duration matches within half a packet; or
- **re-encoded**, trimmed to the exact sample.

The export calls :meth:`AudioCarrier.write_until` after each video frame: audio reaches the muxer in step
with the video, so the file is interleaved and nothing buffers a whole stream in memory. Audio is only
written up to the video written so far, because the final length is unknown until the last frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.audio.stream import AudioStream

from vivid_desktop.media.errors import open_container
from vivid_desktop.media.export_formats import ExportFormat

#: Seek this far before the in-point so decoders (and the copy's priming packet) are warmed up.
_PREROLL = Fraction(1, 2)
#: Demux this far ahead of the video so every track has its next packets at hand.
_LOOKAHEAD = Fraction(1, 2)

#: FFmpeg's default layout for a channel count (a WAV or MKV track may carry no channel order).
_USUAL_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}

Output = av.container.OutputContainer


def _timestamp(packet: av.Packet) -> tuple[int, Fraction] | None:
    """The packet's presentation (else decoding) timestamp and its time base; None when it has none."""
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return ts, Fraction(packet.time_base)


def _start(packet: av.Packet) -> Fraction | None:
    stamp = _timestamp(packet)
    return None if stamp is None else stamp[0] * stamp[1]


class _CopyTrack:
    """Stream copy: the kept packet nearest the in-point starts at zero; later packets keep their spacing."""

    def __init__(self, src: AudioStream, out: Output, fmt: ExportFormat, zero: Fraction):
        self.stream = out.add_stream_from_template(src)
        self.zero = zero
        self.keep_priming = fmt.negative_ts
        self.offset: int | None = None  # the source pts that becomes export time 0
        self.priming: tuple[int, Fraction, av.Packet] | None = None  # the last packet before the in-point
        self.queue: list[tuple[int, Fraction, av.Packet]] = []  # (timestamp, time base, packet)

    def feed(self, packet: av.Packet) -> None:
        stamp = _timestamp(packet)
        if stamp is None:
            return
        pts, tb = stamp
        start = pts * tb
        if self.offset is None:
            half = Fraction(packet.duration or 0) * tb / 2
            if start + half < self.zero:
                self.priming = (pts, tb, packet)
                return
            # Cut on this packet's boundary when it is the nearest; audio that starts later than the
            # in-point keeps its place (the muxer writes the delay), it is not pulled forward.
            self.offset = pts if start - self.zero <= half else round(self.zero / tb)
            if self.keep_priming and self.priming is not None:
                self.queue.append(self.priming)
        self.queue.append((pts, tb, packet))

    def release(self, limit: Fraction, out: Output, final: bool) -> None:
        """Mux queued packets whose middle is before ``limit`` (export seconds); ``final`` drops the rest."""
        while self.queue:
            pts, tb, packet = self.queue[0]
            assert self.offset is not None
            middle = (pts - self.offset + Fraction(packet.duration or 0) / 2) * tb
            if middle >= limit:
                break
            self.queue.pop(0)
            packet.pts = packet.dts = pts - self.offset
            packet.stream = self.stream
            packet.time_base = tb  # keep the source's unit; the muxer rescales to the stream's
            out.mux(packet)
        if final:
            self.queue.clear()


def _sample_format(codec: str, source: av.AudioFormat) -> str:
    """The encoder's sample format closest to the source's, never with fewer bits."""
    formats = av.codec.Codec(codec, "w").audio_formats or [source]
    wide = [f for f in formats if f.bytes >= source.bytes]
    return next((f.name for f in wide if f.name == source.name), (wide or formats)[0].name)


class _EncodeTrack:
    """Decode, convert, trim to the exact sample and re-encode."""

    def __init__(self, src: AudioStream, out: Output, codec: str, zero: Fraction):
        cc = src.codec_context
        rates = av.codec.Codec(codec, "w").audio_rates
        self.rate = cc.sample_rate if not rates or cc.sample_rate in rates else 48000
        # A layout without channel order ("2 channels") becomes the usual one for that count (stereo).
        self.layout = cc.layout.name
        if self.layout.endswith("channels"):
            self.layout = _USUAL_LAYOUTS.get(cc.channels, self.layout)
        self.format = _sample_format(codec, cc.format)
        self.stream = cast(AudioStream, out.add_stream(codec, rate=self.rate))
        self.stream.layout = self.layout
        self.stream.format = self.format
        if codec == "aac":
            self.stream.bit_rate = 96_000 * min(cc.channels, 2) + 64_000 * max(0, cc.channels - 2)
        # Open now: the container header is written with the first video packet and must see this stream.
        self.stream.codec_context.open()
        self.zero = zero
        self.resampler = av.AudioResampler(format=self.format, layout=self.layout, rate=self.rate)
        self.planar = av.AudioFormat(self.format).is_planar
        self.channels = cc.channels
        self.pending: np.ndarray | None = None  # (channels, n) samples taken but not yet encoded
        self.pos: int | None = None  # export sample index of the next resampled sample
        self.written = 0  # samples handed to the encoder

    def feed(self, packet: av.Packet | None) -> None:
        frames = cast(list[av.AudioFrame | None], packet.decode() if packet is not None else [None])
        for frame in frames:
            t = None
            if frame is not None and frame.pts is not None and frame.time_base is not None:
                t = frame.pts * Fraction(frame.time_base)
            for chunk in self.resampler.resample(frame):
                if self.pos is None:
                    self.pos = round(((t if t is not None else self.zero) - self.zero) * self.rate)
                self._take(chunk)

    def _take(self, chunk: av.AudioFrame) -> None:
        data = chunk.to_ndarray()
        if not self.planar:  # packed (1, n * channels) → (channels, n)
            data = data.reshape(-1, self.channels).T
        assert self.pos is not None
        first, self.pos = self.pos, self.pos + data.shape[1]
        if self.pending is None and self.written == 0 and first > 0:
            # The source's audio starts after the in-point: silence until it does, so it stays in sync.
            self.pending = np.zeros((data.shape[0], first), data.dtype)
        if self.pos > 0:  # samples before the in-point are dropped
            kept = data[:, max(0, -first) :]
            self.pending = kept if self.pending is None else np.concatenate([self.pending, kept], axis=1)

    def release(self, limit: Fraction, out: Output, final: bool) -> None:
        """Encode whole frames up to ``limit`` (export seconds); at the end, the exact remainder."""
        if final and self.pos is not None:
            self.feed(None)  # flush the resampler
        if self.pending is None:
            if final:
                out.mux(self.stream.encode(None))
            return
        stop = round(limit * self.rate) - self.written
        size = self.stream.codec_context.frame_size or 1024
        count = min(stop, self.pending.shape[1])
        if not final:
            count -= count % size
        for i in range(0, max(0, count), size):
            self._encode(self.pending[:, i : min(i + size, count)], out)
        self.pending = self.pending[:, max(0, count) :]
        if final:
            out.mux(self.stream.encode(None))

    def _encode(self, part: np.ndarray, out: Output) -> None:
        array = part if self.planar else part.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(array), format=self.format, layout=self.layout
        )
        frame.sample_rate = self.rate
        frame.pts, frame.time_base = self.written, Fraction(1, self.rate)
        self.written += part.shape[1]
        out.mux(self.stream.encode(frame))


def _track(src: AudioStream, out: Output, fmt: ExportFormat, zero: Fraction) -> _CopyTrack | _EncodeTrack:
    codec = src.codec_context.name
    if codec.startswith("pcm_") and codec in fmt.audio_copy:
        # PCM is "re-encoded" to itself: lossless like a copy, and trimmed to the exact sample.
        return _EncodeTrack(src, out, codec, zero)
    if codec in fmt.audio_copy:
        return _CopyTrack(src, out, fmt, zero)
    return _EncodeTrack(src, out, fmt.audio_codec or "aac", zero)


class AudioCarrier:
    """Every audio stream of ``source`` into ``out``; a source without audio carries nothing."""

    def __init__(self, source: str | Path, start: Fraction, out: Output, fmt: ExportFormat):
        self._in = open_container(source)  # a MediaError that names the file when it cannot be read
        try:
            streams = list(self._in.streams.audio)
            video = self._in.streams.video
            first = video[0] if video else None
            origin = Fraction(0)
            if first is not None and first.start_time is not None and first.time_base is not None:
                origin = first.start_time * Fraction(first.time_base)
            #: the source time that becomes time zero of the export
            self.zero = origin + Fraction(start)
            self.tracks = {s.index: _track(s, out, fmt, self.zero) for s in streams}
            self._packets: Iterator[av.Packet] = iter(())
            if streams:
                tb = streams[0].time_base
                if self.zero > _PREROLL and tb is not None:
                    target = int((self.zero - _PREROLL) / Fraction(tb))
                    self._in.seek(target, stream=streams[0], backward=True)
                self._packets = self._in.demux(*streams)
        except BaseException:
            self._in.close()
            raise
        self._out = out
        self._next: av.Packet | None = None

    def write_until(self, t: Fraction, final: bool = False) -> None:
        """Mux audio up to ``t`` seconds of export time; ``final`` when ``t`` is the video's full length."""
        horizon = self.zero + t + _LOOKAHEAD
        while True:
            packet = self._next if self._next is not None else next(self._packets, None)
            self._next = None
            if packet is None:
                break
            start = _start(packet)
            if start is not None and start >= horizon:
                self._next = packet  # the video has not got there yet
                break
            self.tracks[packet.stream.index].feed(packet)
        for track in self.tracks.values():
            track.release(t, self._out, final)

    def finish(self, duration: Fraction) -> None:
        """Write the rest up to ``duration`` (the video's length), flush the encoders, close the source."""
        try:
            self.write_until(duration, final=True)
        finally:
            self.close()

    def close(self) -> None:
        self._in.close()
