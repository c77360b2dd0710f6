"""Pixels of training samples: clips, images, frame folders and masks, as uint8 arrays.

Three kinds of media: a video file (read through the editor's exact :class:`FrameReader`: timeline frames
in display orientation, so masks painted in the editor line up), an image file, or a folder of frame
images (``{frame:06d}.png``, or any names, taken in sorted order). Masks come in the same three kinds; a
mask image applies to every frame. Everything is read as RGB ``(T, H, W, 3)`` / grey ``(T, H, W)`` uint8,
full size; ``fit`` crops and resizes to the training resolution.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vivid_desktop.core.files import read_png
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.media.scan import file_stamp
from vivid_desktop.render_folder import frame_path

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})

MediaKind = Literal["image", "video", "frames"]


class MediaReadError(OSError):
    """A file of the dataset cannot be read; the message names it."""


@dataclass(frozen=True)
class MediaFacts:
    kind: MediaKind
    width: int
    height: int
    frames: int


def media_kind(path: Path) -> MediaKind | None:
    """What ``path`` is by its name (and whether it is a folder); None when it is none of the kinds."""
    if path.is_dir():
        return "frames"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def frame_files(folder: Path) -> list[Path]:
    """The images of a frame folder in frame order."""
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def probe(path: Path) -> MediaFacts:
    """Size and frame count, reading as little as possible; :class:`MediaReadError` when unreadable."""
    kind = media_kind(path)
    if kind is None:
        raise MediaReadError(f"{path.name} is not an image, a video or a folder of frames")
    if kind == "image":
        image = _read_image(path)
        return MediaFacts(kind, image.shape[1], image.shape[0], 1)
    if kind == "frames":
        files = frame_files(path)
        if not files:
            raise MediaReadError(f"{path.name}/ holds no frame images")
        image = _read_image(files[0])
        return MediaFacts(kind, image.shape[1], image.shape[0], len(files))
    info = _index(path).info
    return MediaFacts(kind, info.width, info.height, info.frame_count)


def _read_image(path: Path, grey: bool = False) -> np.ndarray:
    try:
        return read_png(path, grey=grey)
    except Exception as exc:  # OpenCV says little; the user needs the file name
        raise MediaReadError(f"{path.name} cannot be read as an image ({exc})") from exc


@functools.lru_cache(maxsize=16)
def _index_at(path: str, stamp: tuple[int, int]) -> FrameIndex:
    return FrameIndex.build(path)


def _index(path: Path) -> FrameIndex:
    """The clip's frame index (one packet scan per file version; reused for every window of a clip)."""
    try:
        return _index_at(str(path.resolve()), file_stamp(path))
    except (MediaError, OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise MediaReadError(f"{path.name} cannot be read as a video ({exc})") from exc


def _read_video(path: Path, start: int, count: int) -> list[np.ndarray]:
    """Timeline frames ``[start, start + count)`` exactly (display orientation, constant-rate timeline)."""
    index = _index(path)
    if start + count > index.frame_count:
        raise MediaReadError(f"{path.name} has only {index.frame_count} frames, {start + count} needed")
    try:
        with FrameReader(path, index=index, cache_bytes=0) as reader:
            return list(reader.iter_frames(start, start + count))
    except MediaError as exc:
        raise MediaReadError(f"{path.name} cannot be decoded ({exc})") from exc


def read_frames(path: Path, start: int = 0, count: int = 1) -> np.ndarray:
    """Frames ``[start, start + count)`` of any media as ``(T, H, W, 3)``; an image repeats."""
    kind = media_kind(path)
    if kind == "image":
        return np.stack([_read_image(path)] * count)
    if kind == "frames":
        files = frame_files(path)[start : start + count]
        if len(files) < count:
            raise MediaReadError(f"{path.name}/ has too few frames for {start}..{start + count - 1}")
        return np.stack([_read_image(f) for f in files])
    if kind == "video":
        return np.stack(_read_video(path, start, count))
    raise MediaReadError(f"{path.name} is not an image, a video or a folder of frames")


def mask_file_for(folder: Path, frame: int) -> Path:
    """The per-frame mask of a mask folder (the project convention ``{frame:06d}.png``)."""
    return frame_path(folder, frame)


def read_masks(path: Path, start: int = 0, count: int = 1) -> np.ndarray:
    """Masks for frames ``[start, start + count)`` as ``(T, H, W)`` uint8 (255 = region to generate)."""
    kind = media_kind(path)
    if kind == "image":
        return np.stack([_read_image(path, grey=True)] * count)
    if kind == "frames":
        files = [mask_file_for(path, f) for f in range(start, start + count)]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise MediaReadError(f"{path.name}/ lacks {', '.join(missing[:3])}")
        return np.stack([_read_image(f, grey=True) for f in files])
    if kind == "video":
        return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in _read_video(path, start, count)])
    raise MediaReadError(f"{path.name} is not a mask image, mask video or folder of masks")


def fit(images: np.ndarray, height: int, width: int, nearest: bool = False) -> np.ndarray:
    """Centre-crop ``(T, H, W[, 3])`` to the aspect of ``width × height`` and resize to it."""
    h, w = images.shape[1:3]
    target = width / height
    if w / h > target:
        cw = max(1, round(h * target))
        x0 = (w - cw) // 2
        images = images[:, :, x0 : x0 + cw]
    else:
        ch = max(1, round(w / target))
        y0 = (h - ch) // 2
        images = images[:, y0 : y0 + ch]
    if images.shape[1:3] == (height, width):
        return np.ascontiguousarray(images)
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return np.stack([cv2.resize(im, (width, height), interpolation=interp) for im in images])
