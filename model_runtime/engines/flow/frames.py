"""Pictures in and out of the flow engine: frame sources, masks, keyframe images, atomic PNG writes."""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Protocol

import cv2
import numpy as np

from model_runtime.engines.base import EngineError

#: Lossless and fast: light deflate with run-length matching (about 2× quicker than the default).
_PNG_FAST = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]


class FrameSource(Protocol):
    """Random and sequential access to the RGB frames of one clip."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""

    @property
    def frame_count(self) -> int: ...

    def read(self, n: int) -> np.ndarray:
        """Frame ``n`` as uint8 RGB (H, W, 3)."""

    def iter_frames(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(n, frame)`` for ``n`` in ``[start, stop)``, in order."""


class ArrayFrames:
    """A :class:`FrameSource` over frames already in memory (tests, benchmarks, small previews)."""

    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        if not frames:
            raise ValueError("no frames")
        self._frames = frames
        self.size = (frames[0].shape[1], frames[0].shape[0])
        self.frame_count = len(frames)

    def read(self, n: int) -> np.ndarray:
        return self._frames[n]

    def iter_frames(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        for n in range(max(0, start), min(stop, self.frame_count)):
            yield n, self._frames[n]


class ClipFrames:
    """A :class:`FrameSource` over a video file, through the media layer's exact frame reader.

    Frames from :meth:`read` are read-only (they live in the reader's cache); :meth:`iter_frames` yields
    fresh arrays.
    """

    def __init__(self, path: str | Path) -> None:
        from vivid_desktop.media.reader import FrameReader

        path = Path(path)
        if not path.is_file():
            raise EngineError("source_missing", f"The source clip {path} does not exist.")
        try:
            self._reader = FrameReader(path)
        except Exception as exc:  # the media layer's errors vary; the user needs one clear message
            raise EngineError("source_unreadable", f"Cannot read the source clip {path.name}: {exc}") from exc
        self.frame_count = int(self._reader.frame_count)
        width, height = self._reader.size
        self.size: tuple[int, int] = (int(width), int(height))

    def read(self, n: int) -> np.ndarray:
        return self._reader.read(n)

    def iter_frames(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        yield from enumerate(self._reader.iter_frames(start, stop), start)

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> ClipFrames:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _check_size(what: str, path: Path, got: tuple[int, int], want: tuple[int, int]) -> None:
    if got != want:
        raise EngineError(
            f"{what}_size",
            f"The {what} {path.name} is {got[0]}×{got[1]} but the clip is {want[0]}×{want[1]}; "
            f"scale it to the clip's size first.",
        )


def read_mask(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """An 8-bit grey mask file (255 = region to edit) that must be ``size`` = (width, height)."""
    path = Path(path)
    if not path.is_file():
        raise EngineError("mask_missing", f"The mask file {path} does not exist.")
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise EngineError("mask_unreadable", f"The mask file {path} is not an image OpenCV can read.")
    _check_size("mask", path, (mask.shape[1], mask.shape[0]), size)
    return mask


def read_image(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """An RGB keyframe image that must be ``size`` = (width, height)."""
    path = Path(path)
    if not path.is_file():
        raise EngineError("image_missing", f"The keyframe image {path} does not exist.")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise EngineError("image_unreadable", f"The keyframe image {path} is not an image OpenCV can read.")
    _check_size("image", path, (bgr.shape[1], bgr.shape[0]), size)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an RGB or grey uint8 image losslessly and atomically (temp name in the folder, then rename)."""
    path = Path(path)
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, data = cv2.imencode(".png", pixels, _PNG_FAST)
    if not ok:
        raise EngineError("write_failed", f"Could not encode {path.name}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.tobytes())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:  # a full disk or a folder that vanished: say so in one line
        raise EngineError("write_failed", f"Could not write {path}: {exc.strerror or exc}") from exc
    return path


class FrameWriter:
    """Writes finished frames on one background thread while the next ones are computed.

    ``done(t, path, image)`` is called on the caller's thread, in order, once frame ``t`` is on disk.
    Leaving the ``with`` block waits for every write; after an error nothing more is announced.
    """

    def __init__(self, done: Callable[[int, Path, np.ndarray], None], depth: int = 2) -> None:
        self._done = done
        self._depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flow-writer")
        self._pending: deque[tuple[int, Path, np.ndarray, Future[Path]]] = deque()

    def put(self, t: int, path: Path, image: np.ndarray) -> None:
        self._pending.append((t, path, image, self._pool.submit(write_png, path, image)))
        while len(self._pending) > self._depth:
            self._finish_one()

    def _finish_one(self) -> None:
        t, path, image, future = self._pending.popleft()
        future.result()
        self._done(t, path, image)

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            while self._pending and exc_type is None:
                self._finish_one()
        finally:
            self._pool.shutdown(wait=True)


def read_png_rgb(path: str | Path) -> np.ndarray | None:
    """A finished RGB frame read back from the render folder, or None when it cannot be read."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def frame_path(folder: str | Path, frame: int) -> Path:
    return Path(folder) / f"{frame:06d}.png"


def preview(image: np.ndarray, max_side: int = 160) -> np.ndarray:
    """A small copy of ``image`` for progress and ``frame_ready`` events."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image.copy()
    return cv2.resize(
        image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )


class FrameBlocks:
    """Frames of a :class:`FrameSource` read in blocks and kept a while, so that walking a clip
    backwards (mask tracking, keyframes) decodes each frame once instead of seeking every time."""

    def __init__(self, source: FrameSource, budget_bytes: int = 256 << 20) -> None:
        self.source = source
        w, h = source.size
        self.block = int(np.clip(budget_bytes // (2 * w * h * 3), 4, 64))
        self._blocks: dict[int, list[np.ndarray]] = {}

    @property
    def size(self) -> tuple[int, int]:
        return self.source.size

    def read(self, n: int) -> np.ndarray:
        key = n // self.block
        if key not in self._blocks:
            if len(self._blocks) >= 2:
                del self._blocks[next(iter(self._blocks))]
            start = key * self.block
            stop = min(start + self.block, self.source.frame_count)
            self._blocks[key] = [f for _, f in self.source.iter_frames(start, stop)]
        return self._blocks[key][n - key * self.block]


def sample_points(image: np.ndarray, points: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """``image`` read (bilinear) at ``points`` (M, 2) of (x, y): (M,) or (M, C) float32/uint8 as ``image``.

    OpenCV's remap takes maps narrower than 32767, so the points are laid out in rows.
    """
    count = len(points)
    width = 4096
    rows = max(1, -(-count // width))
    maps = np.zeros((rows * width, 2), np.float32)
    maps[:count] = points
    out = cv2.remap(image, maps.reshape(rows, width, 2), None, cv2.INTER_LINEAR, borderMode=border)
    return out.reshape(rows * width, *image.shape[2:])[:count]
