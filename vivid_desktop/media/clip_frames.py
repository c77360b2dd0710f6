"""The one way a job opens the source frames of a clip: :class:`ClipFrames` over the exact frame reader.

Both engines (and the tracker) read the clip through :class:`FrameSource`; tests and benchmarks pass
frames already in memory through :class:`ArrayFrames`. A missing or unreadable clip, or a frame that
cannot be decoded, raises :class:`~vivid_desktop.protocol.errors.JobError` (``source_missing``,
``source_unreadable``) with a one-line message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

from vivid_desktop.protocol.errors import ErrorCode, JobError


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
    fresh arrays. ``size`` is (width, height), ``shape`` is (height, width).
    """

    def __init__(self, path: str | Path) -> None:
        from vivid_desktop.media.reader import FrameReader

        self.path = path = Path(path)
        if not path.is_file():
            raise JobError(ErrorCode.SOURCE_MISSING, f"The source clip {path} does not exist.")
        try:
            self._reader = FrameReader(path)
        except Exception as exc:  # the media layer's errors vary; the user needs one clear message
            raise JobError(
                ErrorCode.SOURCE_UNREADABLE, f"Cannot read the source clip {path.name}: {exc}"
            ) from exc
        self.frame_count = int(self._reader.frame_count)
        width, height = self._reader.size
        self.size: tuple[int, int] = (int(width), int(height))
        self.shape: tuple[int, int] = (int(height), int(width))

    def read(self, n: int) -> np.ndarray:
        from vivid_desktop.media.errors import MediaError

        try:
            return self._reader.read(n)
        except (MediaError, OSError) as exc:  # a damaged or truncated clip
            raise JobError(
                ErrorCode.SOURCE_UNREADABLE, f"Cannot read frame {n} of {self.path.name}: {exc}"
            ) from None

    def iter_frames(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        yield from enumerate(self._reader.iter_frames(start, stop), start)

    def clip_range(self, start: int, stop: int) -> tuple[int, int]:
        """``[start, stop)`` cut to the clip; a range that holds no frame is ``empty_range``."""
        hi = min(stop, self.frame_count)
        if start < 0 or start >= hi:
            raise JobError(
                ErrorCode.EMPTY_RANGE,
                f"The range {start}:{stop} holds no frame of this {self.frame_count}-frame clip.",
            )
        return start, hi

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> ClipFrames:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
