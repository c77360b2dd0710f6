"""Frame writers behind :mod:`vivid_desktop.media.export`: one for video containers, one for PNG folders.

Both take frames one at a time (uint8 grey, RGB or RGBA arrays of one size) and know nothing about
progress, cancellation or where the finished file goes; ``export`` does that.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange
from av.video.stream import VideoStream

from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.export_audio import AudioCarrier
from vivid_desktop.media.export_formats import ExportFormat, encoder_options, pixel_format
from vivid_desktop.render_folder import frame_path

#: numpy channel count → the PyAV name of the frames we are handed
_INPUT_FORMATS = {1: "gray", 3: "rgb24", 4: "rgba"}
#: Y'CbCr conversion uses the BT.709 matrix and limited ("TV") range, and the stream is tagged to match,
#: so players and our own reader turn it back into the same RGB.
_BT709 = 1


def channels_of(shape: tuple[int, ...]) -> int:
    return 1 if len(shape) == 2 else shape[2]


class FrameWriter:
    """Common checks: every frame has the first frame's shape and is 8-bit."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape
        self.count = 0

    def _check(self, frame: np.ndarray) -> None:
        if frame.dtype != np.uint8:
            raise MediaError(f"frame {self.count} is {frame.dtype}; exports take 8-bit (uint8) frames")
        if frame.shape != self.shape:
            raise MediaError(
                f"frame {self.count} is {frame.shape[1]}×{frame.shape[0]} with shape {frame.shape}, "
                f"but the first frame had shape {self.shape}; every frame of an export must match"
            )

    def write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (everything written and flushed)."""

    def abort(self) -> None:
        """Release resources after a failure; the caller deletes the partial output."""


class ContainerWriter(FrameWriter):
    """Encode frames into a video container with PyAV, carrying audio along."""

    def __init__(
        self,
        path: Path,
        fmt: ExportFormat,
        shape: tuple[int, ...],
        rate: Fraction,
        quality: str,
        options: dict[str, str] | None,
        audio_source: str | Path | None,
        audio_start: Fraction,
        timecode: str | None = None,
    ):
        super().__init__(shape)
        channels = channels_of(shape)
        self.pix_fmt = pixel_format(fmt, channels)
        self.input_format = _INPUT_FORMATS[channels]
        self.yuv = self.pix_fmt.startswith("yuv")
        self.rate = rate
        height, width = shape[:2]
        # 4:2:0 needs even sizes: pad the right/bottom edge by repeating the last column/row (no scaling, and
        # no dark fringe bleeding into the chroma); decoders return the padded size, content at top-left.
        self.pad = (width % 2, height % 2) if fmt.even_size else (0, 0)
        opts: dict[str, object] = {**encoder_options(fmt, quality, channels), **(options or {})}
        # faststart puts the index first, so players and browsers can start before the whole file is read.
        muxer_options = {"movflags": "+faststart"} if fmt.container in ("mp4", "mov") else {}
        self.container = av.open(str(path), "w", format=fmt.container, options=muxer_options)
        self.audio: AudioCarrier | None = None
        try:
            self._add_video_stream(fmt, width + self.pad[0], height + self.pad[1], opts)
            if timecode is not None:  # MOV/MP4 write it as a timecode track that NLEs read
                self.stream.metadata["timecode"] = timecode
            if any(self.pad):
                self.container.metadata["comment"] = (
                    f"vivid: picture {width}x{height} padded to {width + self.pad[0]}x{height + self.pad[1]} "
                    f"(right {self.pad[0]}, bottom {self.pad[1]})"
                )
            if audio_source is not None:
                self.audio = AudioCarrier(audio_source, audio_start, self.container, fmt)
        except BaseException:
            self.abort()
            raise

    def _add_video_stream(self, fmt: ExportFormat, width: int, height: int, opts: dict[str, object]) -> None:
        assert fmt.codec is not None
        stream = cast(VideoStream, self.container.add_stream(fmt.codec, rate=self.rate))
        stream.width, stream.height, stream.pix_fmt = width, height, self.pix_fmt
        # One tick per frame: 30000/1001 fps → time base 1001/30000, so timestamps stay exact integers.
        self.time_base = 1 / self.rate
        stream.time_base = self.time_base
        if fmt.codec_tag:
            stream.codec_tag = fmt.codec_tag
        if self.yuv:
            cc = stream.codec_context
            cc.colorspace = cc.color_primaries = cc.color_trc = _BT709
            cc.color_range = ColorRange.MPEG
        if not fmt.codec.startswith(("libx264", "libx265")):
            # x264/x265 run their own thread pools; ProRes and FFV1 need FFmpeg's frame/slice threads.
            stream.codec_context.thread_type = "AUTO"
            stream.codec_context.thread_count = 0
        stream.options = opts
        self.stream = stream

    def write(self, frame: np.ndarray) -> None:
        self._check(frame)
        if any(self.pad):
            widths = ((0, self.pad[1]), (0, self.pad[0])) + ((0, 0),) * (frame.ndim - 2)
            frame = np.pad(frame, widths, mode="edge")
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=self.input_format)
        if self.yuv:
            vf = vf.reformat(format=self.pix_fmt, dst_colorspace=_BT709, dst_color_range=ColorRange.MPEG)
        else:
            vf = vf.reformat(format=self.pix_fmt)
        vf.pts, vf.time_base = self.count, self.time_base
        self.container.mux(self.stream.encode(vf))
        self.count += 1
        if self.audio is not None:
            self.audio.write_until(self.count / self.rate)

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        if self.audio is not None:
            self.audio.finish(self.count / self.rate)
        self.container.close()

    def abort(self) -> None:
        if self.audio is not None:
            self.audio.close()
        with contextlib.suppress(av.FFmpegError, OSError):  # the output is deleted anyway
            self.container.close()


class PngWriter(FrameWriter):
    """Write ``{frame:06d}.png`` files into a folder (OpenCV: fast, and grey/RGBA PNGs as they are)."""

    def __init__(self, folder: Path, shape: tuple[int, ...], compression: int):
        super().__init__(shape)
        self.folder = folder
        self.params = [cv2.IMWRITE_PNG_COMPRESSION, compression]
        self.to_bgr = {1: None, 3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}[channels_of(shape)]

    def write(self, frame: np.ndarray) -> None:
        self._check(frame)
        image = frame if self.to_bgr is None else cv2.cvtColor(frame, self.to_bgr)
        ok, data = cv2.imencode(".png", image, self.params)
        if not ok:
            raise MediaError(f"could not encode frame {self.count} as PNG")
        # imencode + write instead of imwrite: works for any path on every OS, and errors are Python's.
        frame_path(self.folder, self.count).write_bytes(data.tobytes())
        self.count += 1


def read_png(path: Path) -> np.ndarray:
    """A PNG file as uint8 grey, RGB or RGBA (16-bit files are rounded to 8 bits)."""
    image = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MediaError(f"{path.name} is not a readable PNG image")
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image
