"""The trainer tab's look at a dataset: every sample as a table row, with a thumbnail and its problems.

The rows come from the same discovery and checks the trainer runs (:mod:`vivid_desktop.datasets.samples`,
:mod:`vivid_desktop.datasets.checks`), one at a time: :func:`scan_dataset` is a generator, so a worker
thread streams rows into the table while the rest is read. The runtime checks again before it trains;
should it refuse the data, :func:`vivid_desktop.datasets.errors.problems_from_failure` names the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from vivid_desktop.datasets.checks import read_sample
from vivid_desktop.datasets.errors import DatasetError, Problem
from vivid_desktop.datasets.media import MediaFacts, MediaReadError, probe, read_frames, read_masks
from vivid_desktop.datasets.samples import SampleSpec, discover
from vivid_desktop.media.errors import MediaError

THUMB_LINES = 56
_TINT = np.array([255.0, 48.0, 96.0])  # the mask's colour over the thumbnail


@dataclass(frozen=True)
class SampleRow:
    """One row of the sample table. ``problems`` empty = the sample is fine.

    ``spec`` is the sample (None for a problem of the whole dataset or an unreadable record); ``kind``,
    ``width``, ``height`` and ``frames`` (usable frames) are what could be read of its source.
    """

    name: str
    source: str = ""  # the layout: project | folder | records ("" when the path does not exist)
    spec: SampleSpec | None = None
    kind: str = ""  # video | image | frames ("" when unread)
    width: int = 0
    height: int = 0
    frames: int = 0
    problems: tuple[str, ...] = ()
    thumbnail: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def media(self) -> Path | None:
        return self.spec.media if self.spec else None

    @property
    def caption(self) -> str:
        return self.spec.caption if self.spec else ""

    @property
    def task(self) -> str:
        return self.spec.task if self.spec else "modify"

    @property
    def role(self) -> str:
        return self.spec.role if self.spec else "train"

    @property
    def is_video(self) -> bool:
        return self.spec is not None and not self.spec.image_only and self.frames > 1


@dataclass(frozen=True)
class DatasetSummary:
    """What the scan found, for the summary line and the Start button."""

    root: Path
    source: str
    samples: int
    videos: int
    images: int
    validation: int
    problems: int

    @property
    def ok(self) -> bool:
        return self.problems == 0 and self.samples > 0


def scan_dataset(
    path: str | Path, num_frames: int, cancelled: Callable[[], bool] = lambda: False
) -> Generator[SampleRow, None, DatasetSummary]:
    """Yield every sample row, checked and with its thumbnail; returns the :class:`DatasetSummary`."""
    root = Path(path)
    source: str
    try:
        source, specs, problems = discover(root)
    except DatasetError as exc:  # the path does not exist
        source, specs, problems = "", [], exc.problems
    done: list[SampleRow] = []
    items: list[SampleSpec | Problem] = [*specs, *problems]
    for item in items:
        if cancelled():
            break
        row = sample_row(item, source, num_frames)
        done.append(row)
        yield row
    train = [r for r in done if r.ok and r.role == "train"]
    if source and not cancelled() and not train and not any(r.problems for r in done):
        row = SampleRow(root.name, source, problems=("holds no training samples",))
        done.append(row)
        yield row
    return summarize(root, source, done)


def sample_row(item: SampleSpec | Problem, source: str, num_frames: int) -> SampleRow:
    """The table row of a discovered sample (checked now) or of a problem found while discovering."""
    problems: tuple[str, ...]
    if isinstance(item, Problem):
        facts = _facts(item.spec)
        name, spec, problems = item.sample, item.spec, (item.message,)
        frames = facts.frames if facts else 0
    else:
        facts, stop, found = read_sample(item, num_frames)
        name, spec, problems = item.name, item, tuple(p.message for p in found)
        frames = max(0, stop - item.start)
    if facts is None:
        return SampleRow(name, source, spec, problems=problems)
    row = SampleRow(name, source, spec, facts.kind, facts.width, facts.height, frames, problems)
    return replace(row, thumbnail=thumbnail(row))


def _facts(spec: SampleSpec | None) -> MediaFacts | None:
    if spec is None or not spec.media.exists():
        return None
    try:
        return probe(spec.media)
    except MediaReadError:
        return None


def thumbnail(row: SampleRow, lines: int = THUMB_LINES) -> np.ndarray | None:
    """The sample's first frame, ``lines`` high, with its mask tinted red (None when unreadable)."""
    spec = row.spec
    if spec is None or not row.kind:
        return None
    try:
        picture = read_frames(spec.target or spec.media, 0 if spec.target else spec.start)[0]
        h, w = picture.shape[:2]
        size = (max(1, round(w * lines / h)), lines)
        small = cv2.resize(picture, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        if spec.mask is not None and spec.mask.exists():
            mask = read_masks(spec.mask, spec.mask_index(spec.start))[0]
            alpha = cv2.resize(mask, size, interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
            small = small * (1 - 0.45 * alpha) + _TINT * 0.45 * alpha
        return np.clip(small, 0, 255).astype(np.uint8)
    except (OSError, MediaError, IndexError, ValueError, cv2.error):
        return None


def summarize(root: Path, source: str, rows: list[SampleRow]) -> DatasetSummary:
    """Counts of the fine training and validation samples, and of the rows with problems."""
    train = [r for r in rows if r.ok and r.role == "train"]
    videos = sum(r.is_video for r in train)
    validation = sum(1 for r in rows if r.ok and r.role == "validation")
    problems = sum(1 for r in rows if r.problems)
    return DatasetSummary(root, source, len(train), videos, len(train) - videos, validation, problems)
