"""Training datasets: three layouts read into one list of :class:`SampleSpec` (no pixels yet).

Layouts (docs/training.md has them exactly):

* a **project** folder (``project.json``): the clip, keyframes, tracked masks, captions, edited keyframes
  (:mod:`vivid_desktop.datasets.project`);
* a **folder** of clips / images / frame folders, each with a mask (``NAME.mask.png``, ``NAME.mask/`` or
  ``NAME.mask.mp4``) and a caption (``NAME.txt``); a ``validation/`` sub-folder in the same layout;
* **VIVID-10M-style records**: a ``records.jsonl`` (one JSON object per sample).

Qt-free and torch-free: the trainer (``model_runtime.training``) and the trainer tab read datasets with
this one implementation; :mod:`vivid_desktop.datasets.checks` checks the samples found here.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vivid_desktop.datasets.errors import DatasetError, Problem
from vivid_desktop.datasets.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, media_kind
from vivid_desktop.protocol.jobs import DELETE_CAPTION, Task

Role = Literal["train", "validation"]
SourceKind = Literal["project", "folder", "records"]

RECORDS_FILE = "records.jsonl"
VALIDATION_DIR = "validation"
MASK_TAG = ".mask"


@dataclass(frozen=True)
class SampleSpec:
    """One training sample before any pixel is read.

    ``media`` is a video, an image or a frame folder; ``mask`` the same (an image = every frame).
    ``start``/``stop`` pick source frames (``stop`` None = to the end); ``mask_start`` is the frame number
    of the mask folder's first frame (project masks are numbered like the source clip). ``target`` is an
    image that replaces the source pixels as the training target (an edited keyframe). ``image_only``
    samples train one frame (``start``) in image mode.
    """

    name: str
    media: Path
    mask: Path | None
    caption: str
    task: Task = "modify"
    start: int = 0
    stop: int | None = None
    mask_start: int = 0
    target: Path | None = None
    image_only: bool = False
    role: Role = "train"

    @property
    def is_delete(self) -> bool:
        return self.task == "delete"

    def mask_index(self, frame: int) -> int:
        """The mask folder file number / mask video frame that belongs to source frame ``frame``."""
        return frame - self.start + self.mask_start


@dataclass(frozen=True)
class CheckedSample:
    """A sample with the facts the checks read: source size and usable frame range."""

    spec: SampleSpec
    width: int
    height: int
    #: frames ``[spec.start, stop)`` are usable (1 for images)
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.spec.start

    @property
    def is_video(self) -> bool:
        return not self.spec.image_only and self.frames > 1


@dataclass(frozen=True)
class Dataset:
    """What a data path holds, after the checks."""

    root: Path
    kind: SourceKind
    samples: list[CheckedSample]

    @property
    def train(self) -> list[CheckedSample]:
        return [s for s in self.samples if s.spec.role == "train"]

    @property
    def validation(self) -> list[CheckedSample]:
        return [s for s in self.samples if s.spec.role == "validation"]

    def summary(self) -> dict[str, object]:
        """Counts for the LoRA's metadata and the trainer tab."""
        train = self.train
        return {
            "source": self.kind,
            "root": self.root.name,
            "samples": len(train),
            "videos": sum(s.is_video for s in train),
            "images": sum(not s.is_video for s in train),
            "tasks": dict(Counter(s.spec.task for s in train)),
            "validation": len(self.validation),
        }


def task_of_caption(caption: str) -> Task:
    """The paper's fixed deletion caption marks a deletion sample; any other caption describes content."""
    return "delete" if caption.strip().lower() == DELETE_CAPTION.lower() else "modify"


# ------------------------------------------------------------------------------------------ sources
def detect_source(path: Path) -> SourceKind:
    """Which of the three layouts ``path`` is (docs/training.md)."""
    if path.is_file() and path.suffix == ".jsonl":
        return "records"
    if (path / "project.json").is_file() or path.name == "project.json":
        return "project"
    if (path / RECORDS_FILE).is_file():
        return "records"
    return "folder"


def discover(path: str | Path) -> tuple[SourceKind, list[SampleSpec], list[Problem]]:
    """Read the sample list of a data path (no pixels yet); problems found on the way are returned."""
    root = Path(path)
    if not root.exists():
        raise DatasetError([Problem(str(root), "does not exist")])
    kind = detect_source(root)
    if kind == "project":
        from vivid_desktop.datasets.project import project_samples

        specs, problems = project_samples(root)
    elif kind == "records":
        specs, problems = records_samples(root)
    else:
        specs, problems = folder_samples(root)
        if (root / VALIDATION_DIR).is_dir():
            val, val_problems = folder_samples(root / VALIDATION_DIR, role="validation")
            specs, problems = specs + val, problems + val_problems
    return kind, specs, problems


def _mask_for(folder: Path, stem: str) -> list[Path]:
    candidates = [folder / f"{stem}{MASK_TAG}"] + [
        folder / f"{stem}{MASK_TAG}{suffix}" for suffix in sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    ]
    return [c for c in candidates if c.exists()]


def folder_samples(folder: Path, role: Role = "train") -> tuple[list[SampleSpec], list[Problem]]:
    """Layout (b): every clip, image or frame folder ``NAME`` with ``NAME.mask*`` and ``NAME.txt``."""
    specs: list[SampleSpec] = []
    problems: list[Problem] = []
    entries = [e for e in sorted(folder.iterdir()) if not e.name.startswith(".") and e.name != VALIDATION_DIR]
    stems = {_stem(e) for e in entries if media_kind(e) and not _stem(e).endswith(MASK_TAG)}
    for entry in entries:
        stem = _stem(entry)
        label = f"{folder.name}/{entry.name}" if role == "validation" else entry.name
        if stem.endswith(MASK_TAG):
            if stem[: -len(MASK_TAG)] not in stems:
                problems.append(
                    Problem(label, f"a mask without a clip or image called {stem[: -len(MASK_TAG)]}")
                )
            continue
        if entry.suffix == ".txt" or media_kind(entry) is None:
            continue
        masks = _mask_for(folder, stem)
        caption_file = folder / f"{stem}.txt"
        # what is known of a broken sample goes with its problem (the trainer tab shows its picture)
        known = SampleSpec(label, entry, masks[0] if len(masks) == 1 else None, "", role=role)
        if not masks:
            problem = f"missing mask (expected {stem}.mask.png, {stem}.mask/ or {stem}.mask.mp4)"
            problems.append(Problem(label, problem, known))
        elif len(masks) > 1:
            problems.append(Problem(label, f"more than one mask: {', '.join(m.name for m in masks)}", known))
        elif not caption_file.is_file():
            problems.append(Problem(label, f"missing caption file {stem}.txt", known))
        else:
            caption = caption_file.read_text(encoding="utf-8").strip()
            task = task_of_caption(caption)
            specs.append(SampleSpec(label, entry, masks[0], caption, task, role=role))
    return specs, problems


def _stem(entry: Path) -> str:
    return entry.name if entry.is_dir() else entry.stem


def records_samples(path: Path) -> tuple[list[SampleSpec], list[Problem]]:
    """Layout (c): VIVID-10M-style records, one JSON object per line (docs/training.md)."""
    file = path if path.is_file() else path / RECORDS_FILE
    base = file.parent
    specs: list[SampleSpec] = []
    problems: list[Problem] = []
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
            specs.append(
                SampleSpec(
                    name=label,
                    media=base / media,
                    mask=base / rec["mask"],
                    caption=DELETE_CAPTION if task == "delete" else caption,
                    task=task,
                    start=start,
                    stop=None if stop is None else int(stop),
                    mask_start=0 if rec.get("mask_numbering") == "sample" else start,
                    role="validation" if rec.get("split") == "validation" else "train",
                )
            )
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(Problem(label, f"not a valid record ({exc})"))
    return specs, problems
