"""Layout (a): train on a VIVID project folder, its clip, keyframes, masks and captions.

What becomes a sample, per enabled edit (docs/training.md):

* each **edited keyframe image** (previewed or imported): an image sample whose *target* is that image,
  with the keyframe's mask and the edit's caption: the user's own edit, exactly;
* the **source clip** with the edit's tracked masks (a video sample over the tracked range) and each
  keyframe's frame with its mask (image samples), the source pixels as target, as in the paper. This
  teaches the caption as a description of what is under the mask, so it is used only for add/modify edits
  *without* edited keyframes (with them, the caption describes the edit, not the source);
* **delete** edits never train their own masks over the source (that would teach the model to paint the
  object back); they lend their silhouettes to deletion samples, and an edited keyframe of a delete edit
  (the object removed) trains with the fixed deletion caption.

Every keyframe is also a validation sample: rendered every N steps with the LoRA being trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vivid_desktop.core.layout import ProjectLayout
from vivid_desktop.core.loading import check_folder, drop_unsafe_entries, read_project_file
from vivid_desktop.core.project import Edit, ProjectError
from vivid_desktop.datasets.errors import Problem
from vivid_desktop.datasets.samples import SampleSpec


def project_samples(path: Path) -> tuple[list[SampleSpec], list[Problem]]:
    """The samples of a project folder (or its ``project.json``), read only: the editor may have it open."""
    try:
        folder, project, _ = read_project_file(path)
        check_folder(folder)
    except ProjectError as exc:
        return [], [Problem(path.name, str(exc))]
    # Entries project.json may not name (outside the folder, bad ids) are left out, and said so.
    problems = [Problem(project.name, f"left out: {p}") for p in drop_unsafe_entries(folder, project)]
    source = Path(project.source.path)
    specs: list[SampleSpec] = []
    if not source.exists():
        problems.append(
            Problem(project.name, f"the source clip {source} is missing (relink it in the editor)")
        )
        return specs, problems
    for edit in project.edits:
        if edit.enabled:
            specs += _edit_samples(folder, edit, source)
    if not any(s.role == "train" for s in specs):
        problems.append(
            Problem(project.name, "no edit has a caption with a mask or an edited keyframe to train on")
        )
    return specs, problems


def _edit_samples(folder: Path, edit: Edit, source: Path) -> list[SampleSpec]:
    file = ProjectLayout(folder).path  # a checked file named in the project

    caption = edit.effective_caption
    label = edit.name or edit.id
    specs: list[SampleSpec] = []
    edited = [k for k in edit.keyframes if k.image]
    for kf in edited:
        specs.append(
            SampleSpec(
                name=f"{label} · edited keyframe {kf.frame}",
                media=source,
                mask=file(kf.mask),
                caption=caption,
                task=edit.task,
                start=kf.frame,
                target=file(kf.image or ""),
                image_only=True,
            )
        )
    # A delete edit's own masks only feed deletion samples; flagged so the sampler never targets them.
    source_trains = bool(caption) and not edited
    for kf in edit.keyframes:
        common: dict[str, Any] = {
            "media": source,
            "mask": file(kf.mask),
            "caption": caption,
            "task": edit.task,
        }
        if source_trains:
            specs.append(
                SampleSpec(name=f"{label} · frame {kf.frame}", start=kf.frame, image_only=True, **common)
            )
        specs.append(
            SampleSpec(
                name=f"{label} · keyframe {kf.frame}",
                start=kf.frame,
                image_only=True,
                role="validation",
                **common,
            )
        )
    track = edit.mask_track
    if source_trains and track is not None and not track.stale:
        specs.append(
            SampleSpec(
                name=f"{label} · frames {track.start}–{track.stop - 1}",
                media=source,
                mask=file(track.folder),
                caption=caption,
                task=edit.task,
                start=track.start,
                stop=track.stop,
                mask_start=track.start,
            )
        )
    return specs
