"""Frames in the flow engine: a background frame writer, block reads for walking a clip, point sampling.

The render-folder rules (names, atomic writes, masks) live in :mod:`vivid_desktop.render_folder`; the
clip is opened through :mod:`vivid_desktop.media.clip_frames`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from model_runtime.cvtyped import remap_points
from vivid_desktop.media.clip_frames import FrameSource
from vivid_desktop.render_folder import write_frame


class FrameWriter:
    """Writes finished frames on background threads while the next ones are computed.

    ``done(t, path, image)`` is called on the caller's thread, in order, once frame ``t`` is on disk.
    ``workers`` frames are encoded at once (PNG encoding releases the GIL; at 972×540 it costs about as
    much as the rest of a small deletion's frame, so one writer thread held the job back). Leaving the
    ``with`` block waits for every write and announces it, also when the job stops (a cancel, an error
    while computing): every frame left on disk was announced. After a failed write nothing more is
    announced, and later frames already written are removed again.
    """

    def __init__(
        self, done: Callable[[int, Path, np.ndarray], None], depth: int = 3, workers: int = 2
    ) -> None:
        self._done = done
        self._depth = max(depth, workers + 1)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flow-writer")
        self._pending: deque[tuple[int, Path, np.ndarray, Future[Path]]] = deque()

    def put(self, t: int, path: Path, image: np.ndarray) -> None:
        self._pending.append((t, path, image, self._pool.submit(write_frame, path, image)))
        while len(self._pending) > self._depth:
            self._finish_one()

    def _finish_one(self) -> None:
        t, path, image, future = self._pending.popleft()
        try:
            future.result()
        except BaseException:
            self._unwrite_pending()
            raise
        self._done(t, path, image)

    def _unwrite_pending(self) -> None:
        """After a failed write: the later frames written meanwhile are not announced, so not kept."""
        while self._pending:
            _, path, _, future = self._pending.popleft()
            if future.exception() is None:
                with contextlib.suppress(OSError):
                    path.unlink()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            while self._pending:
                if exc_type is not None and self._pending[0][3].exception() is not None:
                    self._unwrite_pending()  # the job fails anyway; its first error is the one to report
                    break
                self._finish_one()
        finally:
            self._pool.shutdown(wait=True)


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


def sample_points(
    image: np.ndarray,
    points: np.ndarray,
    border: int = cv2.BORDER_REPLICATE,
    interpolation: int = cv2.INTER_LINEAR,
) -> np.ndarray:
    """``image`` read (bilinear) at ``points`` (M, 2) of (x, y): (M,) or (M, C) float32/uint8 as ``image``.

    OpenCV's remap takes maps narrower than 32767, so the points are laid out in rows.
    """
    count = len(points)
    width = 4096
    rows = max(1, -(-count // width))
    maps = np.zeros((rows * width, 2), np.float32)
    maps[:count] = points
    out = remap_points(image, maps.reshape(rows, width, 2), interpolation, border)
    return out.reshape(rows * width, *image.shape[2:])[:count]
