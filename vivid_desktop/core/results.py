"""How current the rendered results are: what the viewer composes at a frame, what a new render must
cover after a change, and which frames of a range are not rendered or are stale.

Beside ``render_plan.final_layers`` (the layers that make the output): ``viewer_layers`` adds the
selected edit's edited keyframe when it is newer than that edit's render (a preview made after the last
render), ``affected_range`` compares an edit with its last finished render's snapshot of inputs, and
``range_status`` tells export which frames would come out as the source or as an outdated render.
"""

from __future__ import annotations

import filecmp
from dataclasses import dataclass, field
from pathlib import Path

from vivid_desktop.core.project import Edit, ProjectError, Render
from vivid_desktop.core.store import ProjectStore
from vivid_desktop.render_folder import frame_path


def viewer_layers(store: ProjectStore, frame: int, edit_id: str | None) -> list[Path]:
    """The files the viewer composes as the result at ``frame`` (bottom first): ``final_layers``, with
    the edit's edited keyframe in place of that edit's render when the keyframe file is newer than the
    render's file (so a preview shows until the next render), or on top when the edit has no render
    there. File times decide: the keyframe records no time of its own, and the files are the truth."""
    layers = store.final_layers(frame)
    edit = _edit(store, edit_id)
    kf = edit.keyframe(frame) if edit is not None else None
    edited = store.path(kf.image) if kf is not None and kf.image else None
    if edit is None or edited is None or not edited.is_file():
        return layers
    own = {r.id for r in edit.renders}
    at = next((i for i, path in enumerate(layers) if path.parent.name in own), None)
    if at is None:
        return [*layers, edited]
    try:
        newer = edited.stat().st_mtime_ns > layers[at].stat().st_mtime_ns
    except OSError:
        newer = False
    return [*layers[:at], edited, *layers[at + 1 :]] if newer else layers


def layers_below(store: ProjectStore, edit_id: str, frame: int) -> list[Path]:
    """``final_layers`` of the enabled edits under ``edit_id`` at ``frame`` (what that edit sits on)."""
    with store.project.lock:
        ids = [e.id for e in store.project.edits]
        below = {r.id for e in store.project.edits[: ids.index(edit_id)] for r in e.renders}
    return [p for p in store.final_layers(frame) if p.parent.name in below]


def _edit(store: ProjectStore, edit_id: str | None) -> Edit | None:
    if edit_id is None:
        return None
    try:
        return store.project.edit(edit_id)
    except (KeyError, ProjectError):
        return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def affected_range(store: ProjectStore, edit: Edit, last: Render) -> tuple[int, int] | None:
    """The frames a new render must cover after ``last`` (a finished render of ``edit``).

    None when nothing changed. When only keyframes changed, the span between the keyframes around each
    changed one (a keyframe influences its neighbourhood up to the next keyframes on either side);
    anything else (task, caption, engine, settings, range, tracked masks) means the whole range.
    """
    plan = store.render_plan(last)  # paths rebuilt from the render id, never the stored ones
    src = store.project.source
    whole = (src.in_frame, src.stop)
    if (plan.start, plan.stop) != whole or plan.task != edit.task:
        return whole
    if plan.caption != edit.effective_caption or plan.engine != edit.engine or plan.seed != edit.seed:
        return whole
    if dict(plan.settings) != dict(edit.settings):
        return whole
    if edit.mask_track is not None and edit.mask_track.stale:
        return whole
    inputs = Path(plan.output_dir) / "inputs"
    old = {k.frame: k for k in plan.keyframes}
    new = {k.frame: k for k in edit.keyframes if plan.start <= k.frame < plan.stop}
    changed = set(old) ^ set(new)
    for f in set(old) & set(new):
        kf = new[f]
        if (
            not _same_file(store.path(kf.mask), frame_path(inputs / "masks", f))
            or (kf.image is None) != (old[f].image is None)
            or (kf.image is not None and not _same_file(store.path(kf.image), Path(old[f].image or "")))
        ):
            changed.add(f)
    if not changed:
        return None
    keys = sorted(set(old) | set(new))
    lo, hi = plan.stop, plan.start
    for f in changed:
        before = [k for k in keys if k < f]
        after = [k for k in keys if k > f]
        lo = min(lo, before[-1] if before else plan.start)
        hi = max(hi, after[0] + 1 if after else plan.stop)
    return lo, min(hi, plan.stop)


@dataclass
class EditRangeStatus:
    """One enabled edit over a range: frames without a rendered file, frames whose render is stale."""

    edit_id: str
    name: str
    missing: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)


def range_status(store: ProjectStore, start: int, stop: int) -> list[EditRangeStatus]:
    """Worker thread: for each enabled edit with a problem in ``[start, stop)``, which frames are not
    rendered (they export as the frames below) and which are stale (a keyframe or setting changed
    after its last finished render). Edits without problems are left out."""
    out = []
    with store.project.lock:
        edits = [e for e in store.project.edits if e.enabled]
    for edit in edits:
        rendered = {f for r in edit.renders for f in store.rendered_frames(r.id)}
        status = EditRangeStatus(edit.id, edit.name or edit.task)
        status.missing = [f for f in range(start, stop) if f not in rendered]
        last = next((r for r in reversed(edit.renders) if r.status == "done"), None)
        if last is not None:
            try:
                span = affected_range(store, edit, last)
            except (ProjectError, OSError, ValueError):
                span = (start, stop)
            if span is not None:
                status.stale = [f for f in range(max(start, span[0]), min(stop, span[1])) if f in rendered]
        if status.missing or status.stale:
            out.append(status)
    return out


def frame_spans(frames: list[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` → ``"1–3, 7, 9–10"`` (how the export warning lists frames)."""
    spans: list[tuple[int, int]] = []
    for f in sorted(frames):
        if spans and f == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], f)
        else:
            spans.append((f, f))
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in spans)
