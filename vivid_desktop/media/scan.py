"""One pass over a file's packets: the raw facts that probe and the frame index are built from.

The scan demuxes every packet once (no decoding, so a long clip scans at disk speed) to learn each video
frame's presentation timestamp and keyframe flag, and the audio streams' extent; then it decodes the first
frame to learn what the decoder really produces (pixel format, display rotation) and to prove the file
decodes at all. Inputs an editor cannot use raise :class:`MediaError` here, once, for every caller.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vivid_desktop.media.errors import MediaCancelled, MediaError, explain, open_input
from vivid_desktop.protocol.jobs import MAX_SIDE

#: The picture sizes VIVID edits (display or coded, either side): below 16 pixels optical flow and the
#: model's 16-pixel grid have nothing to work on; above 8192 one RGB frame alone is over 200 MB and the
#: flow fields several times that.
MIN_SIDE = 16

#: Container formats that hold a single still picture (FFmpeg names them ``*_pipe`` or ``image2``).
_IMAGE_FORMATS = ("image2", "image2pipe")

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioScan:
    index: int
    codec: str
    sample_rate: int
    channels: int
    duration: Fraction | None


@dataclass(frozen=True)
class VideoScan:
    """Everything one pass learns about a file's first video stream."""

    path: Path
    size: int
    mtime_ns: int
    format_name: str
    codec: str
    width: int  # decoded picture, before rotation
    height: int
    pix_fmt: str
    bit_depth: int
    sample_aspect_ratio: Fraction
    rotation: int  # clockwise degrees a player turns the picture: 0, 90, 180, 270
    time_base: Fraction
    pts: np.ndarray  # int64, sorted: presentation timestamps of the source frames
    keyframe: np.ndarray  # bool, per source frame in presentation order
    end_pts: int | None  # end of the last frame (its pts + duration) when the container says
    rate_candidates: tuple[Fraction | None, ...]
    audio: tuple[AudioScan, ...]


def file_stamp(path: Path) -> tuple[int, int]:
    """``(size, mtime_ns)``: what an index or proxy checks to know its source has not changed."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def scan(path: str | Path, progress: Progress | None = None, cancel: Cancel | None = None) -> VideoScan:
    """Scan ``path`` (see the module docstring); ``progress(bytes_done, bytes_total)`` as it goes."""
    path = Path(path)
    with open_input(path) as container:
        stream = video_stream(container, path)
        try:
            packets, audio_ext = _demux(container, stream, progress, cancel)
        except (MediaError, MediaCancelled):
            raise
        except Exception as exc:
            raise explain(exc, path) from exc
        audio = tuple(_audio_scan(s, audio_ext.get(s.index)) for s in container.streams.audio)
        facts = _stream_facts(container, stream)
    if not packets:
        raise MediaError(f"{path.name} contains no video frames.", path)
    pts, keyframe, end_pts = _order(packets, path)
    first = _first_frame(path)
    check_size(first["width"], first["height"], path)
    size, mtime_ns = file_stamp(path)
    return VideoScan(
        path=path, size=size, mtime_ns=mtime_ns, pts=pts, keyframe=keyframe, end_pts=end_pts,
        audio=audio, **facts, **first,
    )  # fmt: skip


def video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The clip's picture stream: the first video stream that is not cover art; else a MediaError."""
    if container.format.name.endswith("_pipe") or container.format.name in _IMAGE_FORMATS:
        raise MediaError(f"{path.name} is a still image, not a video.", path)
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not videos:
        if container.streams.audio:
            raise MediaError(f"{path.name} has no video: it holds audio only.", path)
        raise MediaError(f"{path.name} has no video stream.", path)
    return videos[0]


def _demux(container, stream, progress: Progress | None, cancel: Cancel | None):
    """Video packets as ``(pts, dts, key, duration)``; audio extents as ``{index: [first, end]}``."""
    total = max(1, container.size or 1)
    packets: list[tuple[int | None, int | None, bool, int]] = []
    audio_ext: dict[int, list[int]] = {}
    wanted = [stream, *container.streams.audio]
    for i, packet in enumerate(_readable(container.demux(wanted), packets)):
        if packet.size == 0:  # the flush packet PyAV adds at the end of each stream
            continue
        if packet.stream.type == "video":
            if not packet.is_discard:
                packets.append((packet.pts, packet.dts, packet.is_keyframe, packet.duration or 0))
        elif packet.pts is not None:
            ext = audio_ext.setdefault(packet.stream.index, [packet.pts, packet.pts])
            ext[1] = max(ext[1], packet.pts + (packet.duration or 0))
        if i % 256 == 0:
            if cancel is not None and cancel():
                raise MediaCancelled("scan cancelled")
            if progress is not None and packet.pos is not None and packet.pos >= 0:
                progress(min(packet.pos, total), total)
    if progress is not None:
        progress(total, total)
    return packets, audio_ext


def _readable(packets: Iterator[av.Packet], so_far: list) -> Iterator[av.Packet]:
    """Packets until the container cannot be read further: damage after the start ends the file there."""
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError:
            if not so_far:
                raise
            return
        yield packet


def _stream_facts(container, stream) -> dict:
    ctx = stream.codec_context
    sar = stream.sample_aspect_ratio or ctx.sample_aspect_ratio
    return {
        "format_name": container.format.name,
        "codec": ctx.name,
        "sample_aspect_ratio": Fraction(sar) if sar else Fraction(1),
        "time_base": Fraction(stream.time_base),
        "rate_candidates": (stream.average_rate, stream.base_rate, stream.guessed_rate),
    }


def _audio_scan(stream, extent: list[int] | None) -> AudioScan:
    tb = Fraction(stream.time_base) if stream.time_base else None
    duration = None
    if stream.duration and tb:
        duration = stream.duration * tb
    elif extent and tb:
        duration = (extent[1] - max(extent[0], 0)) * tb
    ctx = stream.codec_context
    return AudioScan(stream.index, ctx.name, ctx.sample_rate or 0, ctx.channels or 0, duration)


def check_size(width: int, height: int, path: Path) -> None:
    """A :class:`MediaError` for a picture smaller or larger than VIVID edits (``MIN_SIDE``…``MAX_SIDE``)."""
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise MediaError(
            f"{path.name} is {width}×{height} pixels; VIVID edits videos from {MIN_SIDE}×{MIN_SIDE} "
            f"to {MAX_SIDE}×{MAX_SIDE} pixels (scale it first, e.g. ffmpeg -i IN -vf scale=-2:1080 OUT.mp4).",
            path,
        )


def _order(packets, path: Path) -> tuple[np.ndarray, np.ndarray, int | None]:
    if any(p[0] is None for p in packets):
        raise MediaError(
            f"{path.name} is a raw stream without timestamps, which cannot be edited frame-accurately; "
            "put it into an MP4 or MKV container first (ffmpeg -i IN -c copy OUT.mp4).",
            path,
        )
    pts = np.array([p[0] for p in packets], dtype=np.int64)
    order = np.argsort(pts, kind="stable")
    pts = pts[order]
    key = np.array([p[2] for p in packets], dtype=bool)[order]
    keep = np.concatenate(([True], np.diff(pts) > 0))  # a repeated timestamp cannot be told apart
    repeated = len(pts) - int(keep.sum())
    if repeated > max(2, len(pts) // 50):  # a stray repeat is dropped; many mean the timing is broken
        raise MediaError(
            f"{path.name} has {len(pts)} video frames but only {len(pts) - repeated} distinct timestamps, "
            "so its frames cannot be told apart in time; re-encode it with fresh timestamps "
            "(e.g. ffmpeg -i IN -vf setpts=N/FRAME_RATE/TB OUT.mp4).",
            path,
        )
    if repeated:
        _log.warning("%s: %d frame(s) repeat an earlier timestamp and are skipped", path.name, repeated)
    pts, key = pts[keep], key[keep]
    key[0] = True  # decoding always starts somewhere: the first frame is where a seek to 0 lands
    last = packets[int(order[-1])]
    end_pts = int(last[0] + last[3]) if last[3] > 0 else None
    return pts, key, end_pts


def _first_frame(path: Path) -> dict:
    """Decode the first frame: the pixel format and rotation the decoder really produces."""
    with open_input(path) as container:
        stream = video_stream(container, path)
        stream.thread_type = "SLICE"
        try:
            frame = next(iter(container.decode(stream)), None)
        except Exception as exc:
            raise MediaError(
                f"{path.name} is damaged: its first video frame cannot be decoded.", path
            ) from exc
    if frame is None:
        raise MediaError(f"{path.name} contains no video frame that can be decoded.", path)
    fmt = frame.format
    depth = max((c.bits for c in fmt.components), default=8)
    return {
        "width": frame.width,
        "height": frame.height,
        "pix_fmt": fmt.name,
        "bit_depth": depth,
        "rotation": rotation_of(frame),
    }


def rotation_of(frame: av.VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) that the frame's display matrix asks a player to turn it."""
    try:
        ccw = frame.rotation
    except Exception:  # no display matrix, or one PyAV cannot read
        return 0
    return round(-(ccw or 0) / 90.0) * 90 % 360
