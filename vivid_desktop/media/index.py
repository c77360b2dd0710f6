"""The frame index: frame number ↔ timestamp, keyframe (GOP) positions, and the constant-rate timeline.

Built once per clip from one packet scan (no decoding), saved beside the project as JSON and reused while
the source's size and modification time are unchanged.

Two kinds of frame numbers exist, and for constant-rate clips they are the same:

* *timeline frame* ``n`` (``0 <= n < frame_count``): what the whole application calls a frame. The
  timeline is constant-rate, ``time_of(n) = n / rate`` seconds after the first frame.
* *source frame* ``k`` (``0 <= k < source_frame_count``): the ``k``-th stored picture in presentation order.

For variable-rate sources timeline frame ``n`` shows the latest source frame whose timestamp is before
``t0 + (n + 1/2) / rate`` (ffmpeg's ``fps`` filter rule; exact statement in
:mod:`vivid_desktop.media.timing`): a source frame that arrives late repeats the previous one, two that
land in one slot keep the later one. The mapping is stored in the index, so it never changes between runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from vivid_desktop.media import timing
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.probe import MediaInfo, probe_with_scan
from vivid_desktop.media.scan import Cancel, Progress, file_stamp

SCHEMA = "FrameIndex.1"


class FrameIndex:
    """Frame numbers, timestamps and keyframes of one clip (see the module docstring)."""

    def __init__(
        self,
        info: MediaInfo,
        pts: np.ndarray,
        keyframe: np.ndarray,
        time_base: Fraction,
        timeline: np.ndarray | None,
        stamp: tuple[int, int],
    ) -> None:
        self.info = info
        self.pts = np.asarray(pts, dtype=np.int64)
        self.keyframe = np.asarray(keyframe, dtype=bool)
        self.time_base = Fraction(time_base)
        #: source frame of each timeline frame; None = identity (constant-rate)
        self.timeline = timeline
        self.stamp = stamp
        self._keys = np.flatnonzero(self.keyframe)

    # -- building and caching ------------------------------------------------------------------------

    @classmethod
    def build(cls, path: str | Path, progress: Progress | None = None, cancel: Cancel | None = None):
        """Scan ``path`` once; ``progress(done, total)`` in bytes; ``cancel()`` → :class:`MediaCancelled`."""
        info, s = probe_with_scan(path, progress, cancel)
        timeline = None
        if info.variable_rate:
            timeline = timing.timeline_map(s.pts, s.time_base, info.rate, s.end_pts)
        return cls(info, s.pts, s.keyframe, s.time_base, timeline, (s.size, s.mtime_ns))

    @staticmethod
    def cache_name(path: str | Path) -> str:
        """The file name an index of ``path`` has in a cache folder (stable for one absolute path)."""
        try:
            path = Path(path).resolve()
        except RuntimeError:  # a symlink loop (Python < 3.13); opening it reports the loop
            path = Path(path).absolute()
        digest = hashlib.sha1(os.fsencode(path)).hexdigest()[:12]
        return f"{path.stem}-{digest}.frameindex.json"

    def save(self, folder: str | Path) -> Path:
        """Write the index into ``folder`` (atomically) and return the file."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / self.cache_name(self.info.path)
        doc = {
            "schema": SCHEMA,
            "size": self.stamp[0],
            "mtime_ns": self.stamp[1],
            "info": self.info.to_dict(),
            "time_base": f"{self.time_base.numerator}/{self.time_base.denominator}",
            "pts": _runs(self.pts),
            "keyframes": self._keys.tolist(),
            "timeline": None if self.timeline is None else _runs(self.timeline),
        }
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f, separators=(",", ":"))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, folder: str | Path, path: str | Path) -> FrameIndex | None:
        """The saved index of ``path`` in ``folder`` if it still matches the file, else None."""
        file = Path(folder) / cls.cache_name(path)
        try:
            doc = json.loads(file.read_text())
            if doc.get("schema") != SCHEMA or (doc["size"], doc["mtime_ns"]) != file_stamp(Path(path)):
                return None
            info = MediaInfo.from_dict(doc["info"])
            pts = _unruns(doc["pts"])
            keyframe = np.zeros(len(pts), dtype=bool)
            keyframe[doc["keyframes"]] = True
            timeline = None if doc["timeline"] is None else _unruns(doc["timeline"])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None  # missing, foreign or damaged: the caller rebuilds it
        info = dataclasses.replace(info, path=Path(path))
        return cls(info, pts, keyframe, Fraction(doc["time_base"]), timeline, (doc["size"], doc["mtime_ns"]))

    @classmethod
    def open(cls, path: str | Path, folder: str | Path | None = None, **build_kw) -> FrameIndex:
        """Load from ``folder`` when current, else build (and save there when a folder is given)."""
        if folder is not None and (index := cls.load(folder, path)) is not None:
            return index
        index = cls.build(path, **build_kw)
        if folder is not None:
            index.save(folder)
        return index

    # -- queries -----------------------------------------------------------------------------------

    @property
    def frame_count(self) -> int:
        return self.info.frame_count

    @property
    def source_frame_count(self) -> int:
        return len(self.pts)

    @property
    def rate(self) -> Fraction:
        return self.info.rate

    def check(self, n: int) -> int:
        """``n`` as an int, or a :class:`MediaError` naming the valid range."""
        n = int(n)
        if not 0 <= n < self.frame_count:
            raise MediaError(f"frame {n} is outside the clip (frames 0 to {self.frame_count - 1}).")
        return n

    def source_frame(self, n: int) -> int:
        """The source frame that timeline frame ``n`` shows."""
        return n if self.timeline is None else int(self.timeline[n])

    def source_pts(self, k: int) -> int:
        return int(self.pts[k])

    def frame_pts(self, n: int) -> int:
        """The container timestamp (in ``time_base`` units) of the picture timeline frame ``n`` shows."""
        return int(self.pts[self.source_frame(n)])

    def source_of_pts(self, pts: int) -> int | None:
        """The source frame with exactly this timestamp, or None."""
        k = int(np.searchsorted(self.pts, pts))
        return k if k < len(self.pts) and self.pts[k] == pts else None

    def keyframe_at_or_before(self, k: int) -> int:
        """The source frame that starts the GOP holding source frame ``k`` (where decoding must begin)."""
        i = int(np.searchsorted(self._keys, k, side="right")) - 1
        return int(self._keys[max(i, 0)])

    def keyframes_before(self, k: int, count: int) -> list[int]:
        """Up to ``count`` keyframes before source frame ``k``, nearest first."""
        i = int(np.searchsorted(self._keys, k, side="left"))
        return self._keys[max(0, i - count) : i][::-1].tolist()

    def keyframes(self) -> list[int]:
        """Source frames that are keyframes (random-access points)."""
        return self._keys.tolist()

    def keyframe_frames(self) -> list[int]:
        """Timeline frames that show a keyframe (for GOP markers; equal to :meth:`keyframes` for CFR)."""
        if self.timeline is None:
            return self.keyframes()
        shown = np.flatnonzero(self.keyframe[self.timeline])
        return shown.tolist()

    def time_of(self, n: int) -> Fraction:
        """Seconds from the first frame to timeline frame ``n`` (exact)."""
        return Fraction(n) / self.rate

    def frame_at(self, seconds: Fraction | float) -> int:
        """The timeline frame on screen ``seconds`` after the first frame (clamped to the clip)."""
        n = int(Fraction(seconds) * self.rate)
        return min(max(n, 0), self.frame_count - 1)


def _runs(values: np.ndarray) -> list:
    """``[first, [[step, count], ...]]``: constant-rate timestamps shrink to a few numbers."""
    if len(values) == 0:
        return [0, []]
    steps = np.diff(values)
    runs: list[list[int]] = []
    for step in steps.tolist():
        if runs and runs[-1][0] == step:
            runs[-1][1] += 1
        else:
            runs.append([step, 1])
    return [int(values[0]), runs]


def _unruns(doc: list) -> np.ndarray:
    first, runs = doc
    steps = [s for s, c in runs for _ in range(c)]
    return np.concatenate(([first], first + np.cumsum(steps, dtype=np.int64))).astype(np.int64)
