"""Checks of training samples: sizes, frame counts and masks, every problem named by sample.

:func:`check_dataset` reads every sample's size and frame count and raises one :class:`DatasetError`
listing every problem (missing mask, size mismatch, too few frames, unreadable file), so a run never
starts on a broken dataset. :func:`read_sample` is the same check for one sample that also returns what
it read, for the trainer tab's table.
"""

from __future__ import annotations

from pathlib import Path

from vivid_desktop.datasets.errors import DatasetError, Problem
from vivid_desktop.datasets.media import MediaFacts, MediaReadError, mask_file_for, probe
from vivid_desktop.datasets.samples import CheckedSample, Dataset, SampleSpec, discover


def read_sample(spec: SampleSpec, num_frames: int) -> tuple[MediaFacts | None, int, list[Problem]]:
    """The source's facts (None when unreadable), its usable stop frame, and every problem found."""
    facts, problems = _probe(spec, spec.media, "file")
    if facts is None:
        return None, 0, problems
    stop = 1 if facts.kind == "image" else min(facts.frames, spec.stop or facts.frames)
    if spec.start >= stop:
        return (
            facts,
            stop,
            [Problem(spec.name, f"starts at frame {spec.start} but {spec.media.name} has {stop} frames")],
        )
    if not spec.image_only and facts.kind != "image" and stop - spec.start < num_frames:
        problems.append(
            Problem(
                spec.name, f"too few frames: {stop - spec.start} usable, a video sample needs {num_frames}"
            )
        )
    if spec.target is not None:
        problems += _check_size(spec, spec.target, facts, "edited image")[1]
    if spec.mask is None or not spec.mask.exists():
        problems.append(Problem(spec.name, "missing mask" + (f" {spec.mask.name}" if spec.mask else "")))
    else:
        problems += _check_mask(spec, facts, stop, num_frames)
    return facts, stop, problems


def check_sample(spec: SampleSpec, num_frames: int) -> tuple[CheckedSample | None, list[Problem]]:
    """Read sizes and frame counts of one sample's files; every problem found is returned."""
    facts, stop, problems = read_sample(spec, num_frames)
    if facts is None or problems:
        return None, problems
    return CheckedSample(spec, facts.width, facts.height, stop), []


def _probe(spec: SampleSpec, path: Path, what: str) -> tuple[MediaFacts | None, list[Problem]]:
    if not path.exists():
        return None, [Problem(spec.name, f"the {what} {path.name} does not exist")]
    try:
        return probe(path), []
    except MediaReadError as exc:
        return None, [Problem(spec.name, f"unreadable {what}: {exc}")]


def _check_size(
    spec: SampleSpec, path: Path, source: MediaFacts, what: str
) -> tuple[MediaFacts | None, list[Problem]]:
    facts, problems = _probe(spec, path, what)
    if facts is not None and (facts.width, facts.height) != (source.width, source.height):
        problems.append(
            Problem(
                spec.name,
                f"size mismatch: the {what} {path.name} is {facts.width}×{facts.height}, "
                f"{spec.media.name} is {source.width}×{source.height}",
            )
        )
    return facts, problems


def _check_mask(spec: SampleSpec, source: MediaFacts, stop: int, num_frames: int) -> list[Problem]:
    assert spec.mask is not None
    facts, problems = _check_size(spec, spec.mask, source, "mask")
    if facts is None or problems or facts.kind == "image":
        return problems
    count = 1 if spec.image_only else min(num_frames, stop - spec.start)
    first = spec.mask_index(spec.start)
    if facts.kind == "frames":
        missing = [f for f in range(first, first + count) if not mask_file_for(spec.mask, f).exists()]
        if missing:
            shown = ", ".join(str(f) for f in missing[:5]) + (" …" if len(missing) > 5 else "")
            problems.append(Problem(spec.name, f"missing mask for frame {shown} in {spec.mask.name}/"))
    elif facts.frames < first + count:
        problems.append(
            Problem(spec.name, f"the mask video {spec.mask.name} has {facts.frames} frames, too few")
        )
    return problems


def check_dataset(path: str | Path, num_frames: int) -> Dataset:
    """Discover and check a dataset; raise :class:`DatasetError` listing every problem, or return it."""
    root = Path(path)
    kind, specs, problems = discover(root)
    samples = []
    for spec in specs:
        checked, found = check_sample(spec, num_frames)
        problems += found
        if checked is not None:
            samples.append(checked)
    if not problems and not any(s.spec.role == "train" for s in samples):
        problems.append(Problem(root.name, "holds no training samples"))
    if problems:
        raise DatasetError(problems, where=root.name)
    return Dataset(root, kind, samples)
