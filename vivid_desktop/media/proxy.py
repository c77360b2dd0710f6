"""Scrubbing proxies: an all-intra, low-resolution copy of a clip, and the reader that uses it.

A proxy is H.264, every frame a keyframe (so any frame decodes alone, in milliseconds), at most
``max_lines`` lines high, already turned to display orientation, constant-rate with exactly one proxy frame
per *timeline* frame (variable-rate sources are conformed by the frame index's rule). Its container comment
records the source's size and modification time, so a stale proxy is recognised and ignored.

:func:`build_proxy` writes to a hidden temporary file beside the target and renames it only when complete;
a cancel (``cancel()`` returning True), an error or Ctrl-C removes the temporary file and leaves nothing.

:class:`ScrubReader` is what the viewer reads from: :meth:`~ScrubReader.read_fast` while the playhead moves
(the exact frame if it is already cached, otherwise the proxy frame, at the proxy's size — the viewer
scales every image to its viewport anyway), :meth:`~ScrubReader.read_exact` when it rests.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np

from vivid_desktop.media.cache import DEFAULT_CACHE_BYTES
from vivid_desktop.media.decoder import to_rgb
from vivid_desktop.media.errors import MediaCancelled, MediaError, open_input
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.probe import MediaInfo
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.media.scan import file_stamp

PROXY_TAG = "vivid_proxy"
PROXY_VERSION = 1
#: x264 settings: intra-only and built for decode speed; quality matters less than latency here.
_X264 = {"preset": "ultrafast", "tune": "fastdecode", "crf": "23"}


class ProxyCancelled(MediaCancelled):
    """:func:`build_proxy` was cancelled; no file was left behind."""


def default_proxy_path(source: str | Path) -> Path:
    """``clip.mp4`` → ``clip.proxy.mp4`` beside it (projects keep theirs in their cache folder instead)."""
    source = Path(source)
    return source.with_name(f"{source.stem}.proxy.mp4")


def proxy_size(width: int, height: int, max_lines: int = 540) -> tuple[int, int]:
    """Display ``(width, height)`` scaled to at most ``max_lines`` lines, aspect kept, both even."""
    lines = min(height, max_lines)
    w = max(2, round(width * lines / height / 2) * 2)
    return w, max(2, lines // 2 * 2)


def build_proxy(
    source: str | Path,
    out_path: str | Path | None = None,
    *,
    max_lines: int = 540,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    index: FrameIndex | None = None,
) -> Path:
    """Write the proxy of ``source`` to ``out_path`` (default :func:`default_proxy_path`) and return it.

    ``progress(frames_done, frames_total)`` after each frame; ``cancel()`` is polled as often and raises
    :class:`ProxyCancelled`. Unusable input raises :class:`MediaError`.
    """
    source = Path(source)
    out = Path(out_path) if out_path is not None else default_proxy_path(source)
    if out.resolve() == source.resolve():
        raise MediaError(f"the proxy would overwrite its source {source.name}; choose another name.")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    with FrameReader(source, index=index, cache_bytes=0) as reader:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            _write_proxy(reader, tmp, max_lines, progress, cancel)
            os.replace(tmp, out)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            if isinstance(exc, MediaError | MediaCancelled) or not isinstance(exc, Exception):
                raise
            reason = getattr(exc, "strerror", None) or exc
            raise MediaError(f"the proxy {out.name} could not be written: {reason}.", out) from exc
    return out


def _write_proxy(reader: FrameReader, tmp: Path, max_lines: int, progress, cancel) -> None:
    info = reader.info
    width, height = proxy_size(info.width, info.height, max_lines)
    total = info.frame_count
    frames = reader.iter_decoded()
    with av.open(str(tmp), "w", format="mp4") as container:
        container.metadata["comment"] = json.dumps(_stamp(info, total))
        stream = container.add_stream("libx264", rate=info.rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = dict(_X264)
        stream.codec_context.gop_size = 1
        tb = Fraction(1) / info.rate
        for n, frame in frames:
            if cancel is not None and cancel():
                raise ProxyCancelled(f"proxy of {info.path.name} cancelled")
            out = _proxy_frame(frame, info.rotation, width, height)
            if n == 0 and not info.rotation:
                _copy_colour_tags(frame, stream.codec_context)
            out.pts, out.time_base = n, tb
            container.mux(stream.encode(out))
            if progress is not None:
                progress(n + 1, total)
        container.mux(stream.encode())


def _proxy_frame(frame: av.VideoFrame, rotation: int, width: int, height: int) -> av.VideoFrame:
    if rotation:
        coded = (height, width) if rotation in (90, 270) else (width, height)
        return av.VideoFrame.from_ndarray(to_rgb(frame, rotation, coded), format="rgb24")
    # Straight YUV → smaller YUV, no RGB: the build is decode-bound, so the rest must stay cheap.
    if frame.format.name in ("yuv420p", "yuvj420p") and frame.width % 2 == 0 and frame.height % 2 == 0:
        return _shrink_420(frame, width, height)
    return frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA", threads=1)


def _shrink_420(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """Area-average each 4:2:0 plane with OpenCV: about 3× faster than swscale here (measured)."""
    h, w = frame.height, frame.width
    src = frame.to_ndarray().reshape(-1)  # the Y, U and V planes one after another
    out = np.empty(height * width * 3 // 2, np.uint8)
    luma = ((w, h), (width, height))
    chroma = ((w // 2, h // 2), (width // 2, height // 2))
    a = b = 0
    for (sw, sh), (dw, dh) in (luma, chroma, chroma):
        plane = src[a : a + sw * sh].reshape(sh, sw)
        out[b : b + dw * dh] = cv2.resize(plane, (dw, dh), interpolation=cv2.INTER_AREA).reshape(-1)
        a, b = a + sw * sh, b + dw * dh
    return av.VideoFrame.from_ndarray(out.reshape(height * 3 // 2, width), format="yuv420p")


def _copy_colour_tags(frame: av.VideoFrame, ctx) -> None:
    """Tag the proxy like its source, so its frames convert to RGB with the same matrix and range."""
    ctx.colorspace, ctx.color_range = frame.colorspace, frame.color_range
    ctx.color_primaries, ctx.color_trc = frame.color_primaries, frame.color_trc


def _stamp(info: MediaInfo, frames: int) -> dict:
    size, mtime_ns = file_stamp(info.path)
    return {PROXY_TAG: PROXY_VERSION, "size": size, "mtime_ns": mtime_ns, "frames": frames}


def proxy_is_current(source: str | Path, proxy: str | Path) -> bool:
    """Whether ``proxy`` was built by :func:`build_proxy` from ``source`` as it is now."""
    try:
        with open_input(proxy) as container:
            doc = json.loads(container.metadata.get("comment", "") or "{}")
        size, mtime_ns = file_stamp(Path(source))
    except (MediaError, OSError, ValueError):
        return False
    return doc.get(PROXY_TAG) == PROXY_VERSION and (doc.get("size"), doc.get("mtime_ns")) == (size, mtime_ns)


class ScrubReader:
    """Proxy + cache + exact frames for the viewer (see the module docstring).

    ``read_fast`` and ``read_exact`` use separate decoders and may run at the same time in two threads
    (scrub previews in one, the resting frame in another); each reader serialises its own calls.
    """

    def __init__(
        self,
        source: str | Path,
        proxy: str | Path | None = None,
        *,
        index: FrameIndex | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        proxy_cache_bytes: int = 64 * 2**20,
    ) -> None:
        self.exact = FrameReader(source, index=index, cache_bytes=cache_bytes)
        self.proxy: FrameReader | None = None
        self._proxy_cache_bytes = proxy_cache_bytes
        if proxy is not None:
            try:
                self.attach_proxy(proxy)
            except BaseException:
                self.exact.close()
                raise

    @property
    def info(self) -> MediaInfo:
        return self.exact.info

    @property
    def frame_count(self) -> int:
        return self.exact.frame_count

    def attach_proxy(self, proxy: str | Path) -> None:
        """Use ``proxy`` from now on (e.g. when its background build finishes); must match the source."""
        if not proxy_is_current(self.exact.path, proxy):
            raise MediaError(f"{Path(proxy).name} is not a current proxy of {self.exact.path.name}.", proxy)
        reader = FrameReader(proxy, cache_bytes=self._proxy_cache_bytes, threads=1, thread_type="SLICE")
        if reader.frame_count != self.frame_count:
            reader.close()
            raise MediaError(f"{Path(proxy).name} does not have the frames of {self.exact.path.name}.", proxy)
        old, self.proxy = self.proxy, reader
        if old is not None:
            old.close()

    def read_fast(self, n: int) -> np.ndarray:
        """A quick picture of frame ``n``: exact if cached, else the proxy's (smaller), else exact."""
        if self.exact.is_cached(n) or self.proxy is None:
            return self.exact.read(n)
        return self.proxy.read(n)

    def read_exact(self, n: int) -> np.ndarray:
        """Exactly frame ``n`` at full size (read-only, cached)."""
        return self.exact.read(n)

    def close(self) -> None:
        self.exact.close()
        if self.proxy is not None:
            self.proxy.close()

    def __enter__(self) -> ScrubReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
