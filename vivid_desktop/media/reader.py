"""Exact frame reading: ``FrameReader(path).read(n)`` is timeline frame ``n``, in any order, as RGB.

How a read is served, cheapest first:

1. the frame cache (LRU, bounded in bytes; :mod:`vivid_desktop.media.cache`);
2. the last few frames the decoder produced (stepping back a frame after a seek decodes nothing);
3. decoding *forward* from where the decoder stands, when the target lies ahead in the same GOP (or only
   a few frames past the next keyframe) — scrubbing forward and playback never seek;
4. seeking to the keyframe that starts the target's GOP and decoding forward from there, skipping
   non-reference frames well before the target;
5. if the stream overshoots or ends without the target (wrong keyframe flags, open GOPs, damage): the
   previous keyframes, then the start of the file. Only then a :class:`MediaError`.

Frames are matched by their exact container timestamp from the :class:`FrameIndex`, never by counting,
so a decoder that drops or reorders frames cannot shift the picture by one.

Arrays from :meth:`FrameReader.read` come from (and stay in) the cache: they are **read-only**; copy one
before drawing on it. :meth:`FrameReader.iter_frames` yields fresh writable arrays and does not fill the
cache (an export must not evict what the editor is looking at).

Thread-safety: every public method takes the reader's lock, so one reader may be shared between threads
(calls run one after another). For decoding in parallel, open one reader per thread; several readers may
share one :class:`FrameCache` only if they read the same file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from vivid_desktop.media.cache import DEFAULT_CACHE_BYTES, FrameCache
from vivid_desktop.media.decoder import Decoder, decode_error, to_rgb
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.probe import MediaInfo
from vivid_desktop.media.scan import file_stamp

#: Decode forward through a keyframe rather than seek when it is at most this many frames away.
FORWARD_SLACK = 4


class FrameReader:
    """Random and sequential access to the frames of one clip (see the module docstring).

    ``index``: a :class:`FrameIndex` of this file (built when missing or out of date). ``threads``: FFmpeg
    decoder threads, 0 = one per core. ``thread_type``: ``"AUTO"`` (frame + slice threads, best for long
    GOPs) or ``"SLICE"``/``"NONE"`` (lowest latency for intra-only files such as proxies).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        index: FrameIndex | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        cache: FrameCache | None = None,
        threads: int = 0,
        thread_type: str = "AUTO",
    ) -> None:
        self.path = Path(path)
        if index is None or index.stamp != file_stamp(self.path):
            index = FrameIndex.build(self.path)
        self.index = index
        self.cache = cache if cache is not None else FrameCache(cache_bytes)
        self._lock = threading.Lock()
        self._decoder = Decoder(self.path, index, threads=threads, thread_type=thread_type)

    @property
    def info(self) -> MediaInfo:
        return self.index.info

    @property
    def frame_count(self) -> int:
        return self.index.frame_count

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames :meth:`read` returns (display orientation)."""
        return self.info.width, self.info.height

    def read(self, n: int) -> np.ndarray:
        """Timeline frame ``n`` as read-only uint8 RGB ``(height, width, 3)`` in display orientation."""
        k = self.index.source_frame(self.index.check(n))
        frame = self.cache.get(k)
        if frame is not None:
            return frame
        with self._lock:
            frame = self.cache.get(k)  # another thread may have decoded it meanwhile
            if frame is None:
                frame = self.cache.put(k, self._decode_rgb(k, n))
        return frame

    def is_cached(self, n: int) -> bool:
        """Whether :meth:`read` would return frame ``n`` without decoding."""
        return self.index.source_frame(self.index.check(n)) in self.cache

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Frames ``start`` … ``stop - 1`` in order, as fresh writable arrays; decodes straight through."""
        stop = self.frame_count if stop is None else min(stop, self.frame_count)
        if start < 0:
            self.index.check(start)
        last_k, frame = -1, np.empty(0, np.uint8)
        for n in range(start, stop):
            k = self.index.source_frame(n)
            if k != last_k:
                cached = self.cache.get(k)
                if cached is None:
                    with self._lock:
                        cached = self._decode_rgb(k, n)
                last_k, frame = k, cached
            # A cached frame is shared and read-only; a repeated one (variable rate) must stay pristine.
            shared = not frame.flags.writeable or (n + 1 < stop and self.index.source_frame(n + 1) == k)
            yield frame.copy() if shared else frame

    def iter_decoded(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, av.VideoFrame]]:
        """``(n, decoded frame)`` for frames ``start`` … ``stop - 1``: FFmpeg frames before RGB conversion
        and rotation, for callers that scale with swscale themselves (proxies). Repeats: the same object."""
        stop = self.frame_count if stop is None else min(stop, self.frame_count)
        if start < 0:
            self.index.check(start)
        last_k = -1
        for n in range(start, stop):
            k = self.index.source_frame(n)
            if k != last_k:
                with self._lock:
                    frame = self._decode(k, n)
                last_k = k
            yield n, frame

    def close(self) -> None:
        with self._lock:
            self._decoder.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- decoding ------------------------------------------------------------------------------------

    def _decode_rgb(self, k: int, n: int) -> np.ndarray:
        return to_rgb(self._decode(k, n), self.info.rotation)

    def _decode(self, k: int, n: int) -> av.VideoFrame:
        dec, index = self._decoder, self.index
        if not dec.is_open:
            dec.restart()
        recent = dec.recent.get(k)
        if recent is not None:
            return recent
        target = index.source_pts(k)
        kf = index.keyframe_at_or_before(k)
        # decode the last few frames before the target fully, so stepping back from it is free
        full_from = index.source_pts(max(kf, k - dec.keep_recent + 1))
        pos = dec.position
        forward = pos is not None and pos < k and (kf <= pos + 1 or kf - pos <= FORWARD_SLACK)
        for start in self._attempts(kf, forward):
            if start == "restart":
                dec.restart()
            elif start is not None:
                dec.seek(start)
            frame = dec.decode_to(k, target, full_from)
            if frame is not None:
                return frame
        raise decode_error(self.path, n)

    def _attempts(self, kf: int, forward: bool) -> list:
        """Where to start decoding, in order: here, the GOP's keyframe, two earlier ones, the file start."""
        return ([None] if forward else []) + [kf, *self.index.keyframes_before(kf, 2), "restart"]
