"""The timeline's thumbnail strip: ``count`` small pictures spread evenly over a clip, fast.

Thumbnail ``i`` stands for the slot of frames ``[i * N / count, (i + 1) * N / count)``; its picture comes

* from the proxy when one is given (any frame decodes alone there): exactly the slot's middle frame;
* otherwise from the source's *keyframe* at or before the slot's middle frame. Only keyframes are decoded
  (FFmpeg skips every other frame unseen), so a strip of a long-GOP clip costs a handful of decodes; slots
  that share a GOP share a picture. Build the proxy in the background and redo the strip for detail.

All thumbnails have the same size: ``height`` lines and the display aspect ratio of the clip.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vivid_desktop.media.decoder import Decoder, decode_error, to_rgb
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.reader import FrameReader


def thumbnail_frames(frame_count: int, count: int) -> list[int]:
    """The middle frame of each of ``count`` equal slots of a clip with ``frame_count`` frames."""
    if count < 1 or frame_count < 1:
        return []
    return [min(frame_count - 1, (2 * i + 1) * frame_count // (2 * count)) for i in range(count)]


def thumbnail_size(width: int, height: int, lines: int) -> tuple[int, int]:
    """``(w, h)`` of a thumbnail ``lines`` high of a ``width`` × ``height`` picture."""
    return max(1, round(width * lines / height)), max(1, lines)


def thumbnail_strip(
    source: str | Path,
    count: int,
    height: int,
    *,
    proxy: str | Path | None = None,
    index: FrameIndex | None = None,
) -> list[np.ndarray]:
    """``count`` RGB thumbnails ``height`` lines high (see the module docstring for where they come from)."""
    if index is None:
        index = FrameIndex.build(source)
    frames = thumbnail_frames(index.frame_count, count)
    size = thumbnail_size(index.info.width, index.info.height, height)
    if proxy is not None:
        return _from_proxy(Path(proxy), frames, size)
    return _from_keyframes(Path(source), index, frames, size)


def _from_proxy(proxy: Path, frames: list[int], size: tuple[int, int]) -> list[np.ndarray]:
    with FrameReader(proxy, cache_bytes=0, threads=1, thread_type="SLICE") as reader:
        return [cv2.resize(reader.read(n), size, interpolation=cv2.INTER_AREA) for n in frames]


def _from_keyframes(
    source: Path, index: FrameIndex, frames: list[int], size: tuple[int, int]
) -> list[np.ndarray]:
    rotation = index.info.rotation
    coded = (size[1], size[0]) if rotation in (90, 270) else size
    pictures: dict[int, np.ndarray] = {}
    decoder = Decoder(source, index, threads=1, thread_type="SLICE", keyframes_only=True)
    try:
        out = []
        for n in frames:
            kf = index.keyframe_at_or_before(index.source_frame(n))
            if kf not in pictures:
                decoder.seek(kf)
                frame = decoder.decode_to(kf, index.source_pts(kf))
                if frame is None:
                    raise decode_error(source, n)
                pictures[kf] = to_rgb(frame, rotation, coded)
            out.append(pictures[kf])
        return out
    finally:
        decoder.close()
