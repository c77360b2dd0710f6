"""The trainer tab's look at a dataset: every sample, a thumbnail, and what is wrong with it (Qt-free).

Why here and not a runtime request: the GUI may import only ``model_runtime.protocol``, and the table
must fill before a runtime (and its torch) is up. So this module reads the three layouts that
docs/training.md documents, with the same rules and problem wording as the trainer's own check
(``model_runtime/training/datasets.py``), and runs in a worker thread. The runtime checks again before it
trains and refuses a broken dataset (``failed`` with code ``dataset_invalid``, every problem listed as
``  - NAME: message``); :func:`problems_from_failure` reads that list back so the table flags what the
runtime found, should the two checks ever disagree.

Layouts: (a) a project folder (``project.json``): per enabled edit, edited keyframes, keyframe frames and
the tracked range; (b) a folder of clips / images / frame folders ``NAME`` with ``NAME.mask.png`` |
``NAME.mask/`` | ``NAME.mask.mp4`` and ``NAME.txt``, plus a ``validation/`` sub-folder; (c) VIVID-10M-style
records: ``records.jsonl`` (one JSON object per line: ``video`` | ``image``, ``mask``, ``caption``,
``task``, ``start``, ``stop``, ``split``, ``mask_numbering``, ``id``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import av
import cv2
import numpy as np

from model_runtime.protocol.jobs import DELETE_CAPTION
from vivid_desktop.core.files import read_png
from vivid_desktop.core.project import Edit, Project
from vivid_desktop.core.schema import upgrade
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.probe import probe
from vivid_desktop.media.reader import FrameReader

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})
RECORDS_FILE = "records.jsonl"
VALIDATION_DIR = "validation"
MASK_TAG = ".mask"
THUMB_LINES = 56


@dataclass(frozen=True)
class SampleRow:
    """One row of the sample table. ``problems`` empty = the sample is fine."""

    name: str
    source: str = ""  # the layout: project | folder | records ("" for a dataset-wide row)
    media: Path | None = None
    mask: Path | None = None
    caption: str = ""
    task: str = "modify"
    role: str = "train"  # train | validation
    kind: str = ""  # video | image | frames ("" when unread)
    start: int = 0
    stop: int | None = None
    mask_start: int = 0
    image_only: bool = False
    target: Path | None = None
    width: int = 0
    height: int = 0
    frames: int = 0  # usable frames
    problems: tuple[str, ...] = ()
    thumbnail: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def mask_index(self, frame: int) -> int:
        return frame - self.start + self.mask_start


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


@dataclass(frozen=True)
class _Facts:
    kind: str
    width: int
    height: int
    frames: int


class _Unreadable(Exception):
    pass


# ------------------------------------------------------------------------------------------ layouts
def detect_source(path: Path) -> str:
    if path.is_file() and path.suffix == ".jsonl":
        return "records"
    if (path / "project.json").is_file() or path.name == "project.json":
        return "project"
    if (path / RECORDS_FILE).is_file():
        return "records"
    return "folder"


def media_kind(path: Path) -> str | None:
    if path.is_dir():
        return "frames"
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None


def _stem(entry: Path) -> str:
    return entry.name if entry.is_dir() else entry.stem


def task_of_caption(caption: str) -> str:
    return "delete" if caption.strip().lower() == DELETE_CAPTION.lower() else "modify"


def folder_rows(folder: Path, role: str = "train") -> list[SampleRow]:
    """Layout (b): ``NAME`` with ``NAME.mask*`` and ``NAME.txt`` (problems become rows too)."""
    rows: list[SampleRow] = []
    entries = [e for e in sorted(folder.iterdir()) if not e.name.startswith(".") and e.name != VALIDATION_DIR]
    stems = {_stem(e) for e in entries if media_kind(e) and not _stem(e).endswith(MASK_TAG)}
    for entry in entries:
        stem = _stem(entry)
        label = f"{folder.name}/{entry.name}" if role == "validation" else entry.name
        base = SampleRow(label, "folder", media=entry, role=role)
        if stem.endswith(MASK_TAG):
            if stem[: -len(MASK_TAG)] not in stems:
                rows.append(replace(base, media=None, problems=(f"a mask without a clip or image called "
                                                                 f"{stem[: -len(MASK_TAG)]}",)))  # fmt: skip
            continue
        if entry.suffix == ".txt" or media_kind(entry) is None:
            continue
        masks = [
            c
            for c in [folder / f"{stem}{MASK_TAG}"]
            + [folder / f"{stem}{MASK_TAG}{s}" for s in sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES)]
            if c.exists()
        ]
        caption_file = folder / f"{stem}.txt"
        if not masks:
            problem = f"missing mask (expected {stem}.mask.png, {stem}.mask/ or {stem}.mask.mp4)"
            rows.append(replace(base, problems=(problem,)))
        elif len(masks) > 1:
            rows.append(replace(base, problems=(f"more than one mask: {', '.join(m.name for m in masks)}",)))
        elif not caption_file.is_file():
            rows.append(replace(base, mask=masks[0], problems=(f"missing caption file {stem}.txt",)))
        else:
            caption = caption_file.read_text(encoding="utf-8").strip()
            rows.append(replace(base, mask=masks[0], caption=caption, task=task_of_caption(caption)))
    return rows


def records_rows(path: Path) -> list[SampleRow]:
    """Layout (c): one JSON record per line of ``records.jsonl``."""
    file = path if path.is_file() else path / RECORDS_FILE
    rows: list[SampleRow] = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        label = f"{file.name} line {number}"
        try:
            rec = json.loads(line)
            label = str(rec.get("id") or label)
            media = rec.get("video") or rec.get("image")
            if not media or not rec.get("mask"):
                raise ValueError("a record needs 'video' or 'image', and 'mask'")
            caption = str(rec.get("caption", "")).strip()
            task = rec.get("task") or task_of_caption(caption)
            if task not in ("add", "modify", "delete"):
                raise ValueError(f"unknown task {task!r}")
            start = int(rec.get("start", 0))
            stop = rec.get("stop")
            rows.append(
                SampleRow(
                    label, "records", media=file.parent / media, mask=file.parent / rec["mask"],
                    caption=DELETE_CAPTION if task == "delete" else caption, task=task,
                    role="validation" if rec.get("split") == "validation" else "train", start=start,
                    stop=None if stop is None else int(stop),
                    mask_start=0 if rec.get("mask_numbering") == "sample" else start,
                )
            )  # fmt: skip
        except (ValueError, TypeError, AttributeError) as exc:
            rows.append(SampleRow(label, "records", problems=(f"not a valid record ({exc})",)))
    return rows


def project_rows(path: Path) -> list[SampleRow]:
    """Layout (a): the samples the trainer takes from a project (read only: the editor may have it open)."""
    folder = path.parent if path.name == "project.json" else path
    try:
        project = Project.model_validate(upgrade(json.loads((folder / "project.json").read_text("utf-8"))))
    except (OSError, ValueError) as exc:
        return [SampleRow(folder.name, "project", problems=(f"the project cannot be read ({exc})",))]
    source = Path(project.source.path)
    if not source.exists():
        return [SampleRow(project.name, "project", problems=(f"the source clip {source} is missing "
                                                             "(relink it in the editor)",))]  # fmt: skip
    rows = [row for edit in project.edits if edit.enabled for row in _edit_rows(folder, edit, source)]
    if not any(r.role == "train" for r in rows):
        problem = "no edit has a caption with a mask or an edited keyframe to train on"
        rows.append(SampleRow(project.name, "project", problems=(problem,)))
    return rows


def _edit_rows(folder: Path, edit: Edit, source: Path) -> list[SampleRow]:
    def file(name: str) -> Path:
        return folder.joinpath(*name.split("/"))

    caption, label = edit.effective_caption, edit.name or edit.id
    base = SampleRow("", "project", media=source, caption=caption, task=edit.task, image_only=True)
    edited = [k for k in edit.keyframes if k.image]
    rows = [
        replace(base, name=f"{label} · edited keyframe {k.frame}", mask=file(k.mask), start=k.frame,
                target=file(k.image or ""))
        for k in edited
    ]  # fmt: skip
    # the source pixels under the mask teach the caption only when no edited keyframe redefines it
    source_trains = bool(caption) and not edited
    for k in edit.keyframes:
        one = replace(base, mask=file(k.mask), start=k.frame)
        if source_trains:
            rows.append(replace(one, name=f"{label} · frame {k.frame}"))
        rows.append(replace(one, name=f"{label} · keyframe {k.frame}", role="validation"))
    track = edit.mask_track
    if source_trains and track is not None and not track.stale:
        rows.append(
            replace(base, name=f"{label} · frames {track.start}–{track.stop - 1}", mask=file(track.folder),
                    start=track.start, stop=track.stop, mask_start=track.start, image_only=False)
        )  # fmt: skip
    return rows


def discover_rows(path: Path) -> tuple[str, list[SampleRow]]:
    """The layout of ``path`` and its samples, before any pixel is read."""
    if not path.exists():
        return "", [SampleRow(path.name or str(path), problems=("does not exist",))]
    source = detect_source(path)
    if source == "project":
        return source, project_rows(path)
    if source == "records":
        return source, records_rows(path)
    rows = folder_rows(path)
    if (path / VALIDATION_DIR).is_dir():
        rows += folder_rows(path / VALIDATION_DIR, role="validation")
    return source, rows


# ------------------------------------------------------------------------------------------- checks
def _frame_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _facts(path: Path) -> _Facts:
    kind = media_kind(path)
    try:
        if kind == "image":
            h, w = read_png(path).shape[:2]
            return _Facts("image", w, h, 1)
        if kind == "frames":
            files = _frame_files(path)
            if not files:
                raise _Unreadable(f"{path.name}/ holds no frame images")
            h, w = read_png(files[0]).shape[:2]
            return _Facts("frames", w, h, len(files))
        if kind == "video":
            info = probe(path)
            return _Facts(
                "video", info.coded_width, info.coded_height, info.source_frame_count or info.frame_count
            )
    except (OSError, MediaError) as exc:
        raise _Unreadable(str(exc)) from None
    raise _Unreadable(f"{path.name} is not an image, a video or a folder of frames")


def check_row(row: SampleRow, num_frames: int) -> SampleRow:
    """The row with its facts read and every problem found (the trainer's rules)."""
    if row.media is None:
        return row
    if row.problems:  # found by name already; read what can be read so the row still shows a picture
        try:
            facts = _facts(row.media)
        except _Unreadable:
            return row
        return replace(row, kind=facts.kind, width=facts.width, height=facts.height, frames=facts.frames)
    if not row.media.exists():
        return replace(row, problems=(f"the file {row.media.name} does not exist",))
    try:
        facts = _facts(row.media)
    except _Unreadable as exc:
        return replace(row, problems=(f"unreadable file: {exc}",))
    stop = 1 if facts.kind == "image" else min(facts.frames, row.stop or facts.frames)
    row = replace(
        row, kind=facts.kind, width=facts.width, height=facts.height, frames=max(0, stop - row.start)
    )
    if row.start >= stop:
        return replace(row, problems=(f"starts at frame {row.start} but {row.media.name} has {stop} frames",))
    problems: list[str] = []
    if not row.image_only and facts.kind != "image" and stop - row.start < num_frames:
        problems.append(f"too few frames: {stop - row.start} usable, a video sample needs {num_frames}")
    if row.target is not None:
        problems += _sized(row.target, facts, "edited image")[1]
    if row.mask is None or not row.mask.exists():
        problems.append("missing mask" + (f" {row.mask.name}" if row.mask else ""))
    else:
        problems += _mask_problems(row, facts, stop, num_frames)
    return replace(row, problems=tuple(problems))


def _sized(path: Path, source: _Facts, what: str) -> tuple[_Facts | None, list[str]]:
    """The facts of a mask or edited image, and a problem if it is missing, unreadable or another size."""
    if not path.exists():
        return None, [f"the {what} {path.name} does not exist"]
    try:
        facts = _facts(path)
    except _Unreadable as exc:
        return None, [f"unreadable {what}: {exc}"]
    if (facts.width, facts.height) != (source.width, source.height):
        return facts, [f"size mismatch: the {what} {path.name} is {facts.width}×{facts.height}, "
                       f"the source is {source.width}×{source.height}"]  # fmt: skip
    return facts, []


def _mask_problems(row: SampleRow, source: _Facts, stop: int, num_frames: int) -> list[str]:
    assert row.mask is not None
    facts, problems = _sized(row.mask, source, "mask")
    if facts is None or problems or facts.kind == "image":
        return problems
    count = 1 if row.image_only else min(num_frames, stop - row.start)
    first = row.mask_index(row.start)
    if facts.kind == "frames":
        missing = [f for f in range(first, first + count) if not (row.mask / f"{f:06d}.png").exists()]
        if missing:
            shown = ", ".join(str(f) for f in missing[:5]) + (" …" if len(missing) > 5 else "")
            return [f"missing mask for frame {shown} in {row.mask.name}/"]
    elif facts.frames < first + count:
        return [f"the mask video {row.mask.name} has {facts.frames} frames, too few"]
    return []


# ------------------------------------------------------------------------------------------- pixels
def _video_frame(path: Path, index: int) -> np.ndarray:
    if index > 24:  # a keyframe deep in a long clip: seek instead of decoding from the start
        with FrameReader(path, cache_bytes=0, threads=1) as reader:
            return np.array(reader.read(index))
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n >= index:
                return frame.to_ndarray(format="rgb24")
    raise _Unreadable(f"{path.name} has no frame {index}")


def _picture(path: Path, index: int, grey: bool) -> np.ndarray:
    kind = media_kind(path)
    if kind == "image":
        return read_png(path, grey=grey)
    if kind == "frames":
        file = path / f"{index:06d}.png" if grey else _frame_files(path)[index]
        return read_png(file, grey=grey)
    frame = _video_frame(path, index)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if grey else frame


def thumbnail(row: SampleRow, lines: int = THUMB_LINES) -> np.ndarray | None:
    """The sample's first frame, ``lines`` high, with its mask tinted red (None when unreadable)."""
    if row.media is None or not row.kind:
        return None
    try:
        picture = _picture(row.target or row.media, 0 if row.target else row.start, grey=False)
        h, w = picture.shape[:2]
        size = (max(1, round(w * lines / h)), lines)
        small = cv2.resize(picture, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        if row.mask is not None and row.mask.exists():
            mask = _picture(row.mask, row.mask_index(row.start), grey=True)
            alpha = cv2.resize(mask, size, interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
            small = small * (1 - 0.45 * alpha) + np.array([255.0, 48.0, 96.0]) * 0.45 * alpha
        return np.clip(small, 0, 255).astype(np.uint8)
    except (OSError, MediaError, _Unreadable, IndexError, cv2.error, av.FFmpegError):
        return None


# ------------------------------------------------------------------------------------------- a scan
def scan_dataset(
    path: str | Path, num_frames: int, cancelled: Callable[[], bool] = lambda: False
) -> Iterator[SampleRow]:
    """Yield every sample row, checked and with its thumbnail; returns the :class:`DatasetSummary`.

    A generator so that a worker streams rows into the table as they are read.
    """
    root = Path(path)
    source, rows = discover_rows(root)
    done: list[SampleRow] = []
    for row in rows:
        if cancelled():
            break
        row = check_row(row, num_frames)
        row = replace(row, thumbnail=thumbnail(row))
        done.append(row)
        yield row
    train = [r for r in done if r.ok and r.role == "train"]
    if source and not cancelled() and not train and not any(r.problems for r in done):
        row = SampleRow(root.name, source, problems=("holds no training samples",))
        done.append(row)
        yield row
    return summarize(root, source, done, num_frames)


def summarize(root: Path, source: str, rows: list[SampleRow], num_frames: int) -> DatasetSummary:
    train = [r for r in rows if r.ok and r.role == "train"]
    videos = sum(1 for r in train if not r.image_only and r.frames > 1)
    return DatasetSummary(
        root, source, len(train), videos, len(train) - videos,
        sum(1 for r in rows if r.ok and r.role == "validation"), sum(1 for r in rows if r.problems),
    )  # fmt: skip


_PROBLEM_LINE = re.compile(r"^\s+-\s+(?P<name>.+?):\s(?P<message>.+)$")


def problems_from_failure(message: str) -> list[tuple[str, str]]:
    """``(sample name, problem)`` pairs from a ``dataset_invalid`` failure message of the runtime."""
    out = []
    for line in message.splitlines():
        match = _PROBLEM_LINE.match(line)
        if match:
            out.append((match["name"], match["message"]))
    return out
