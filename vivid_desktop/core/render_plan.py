"""Runtime job requests for edits (render plan, mask tracking, keyframe preview), and which rendered
frame the output shows at each frame number.

Usage (normally through ``ProjectStore.prepare_render``, ``prepare_track``, ``prepare_keyframe_preview``
and ``final_frame_path``, which save the masks first)::

    plan = build_render_plan(store, edit.id, render_id, start=0, stop=49)   # a protocol RenderPlan
    track = build_track_request(store, edit.id)            # TrackMasksRequest into masks/<edit>/track
    preview = build_keyframe_request(store, edit.id, 12)   # EditKeyframeRequest into cache/previews
    path = final_frame_path(store, 40)     # renders/<id>/000040.png of the topmost edit, or None

A plan never points into folders that later edits change: the masks and edited keyframes it uses are
snapshotted (hard links, else copies) into ``renders/<id>/inputs/``, so a render can be resumed or audited
with exactly what it started from. Masks: the edit's tracked masks when a current track exists, with the
keyframe masks on top (keyframes are the anchors); otherwise only the keyframe masks, and the runtime uses
the nearest one for frames without a file (``RenderPlan.mask_dir``). Keyframes outside ``[start, stop)``
are left out.

Edits apply in order like layers; each render reads the original source, so at a given frame the output
is the frame of the topmost enabled edit that has one (newest render first), else the source frame.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from model_runtime.protocol.jobs import EditKeyframeRequest, KeyframeSpec, RenderPlan, TrackMasksRequest
from vivid_desktop.core.project import Edit, ProjectError, new_id

if TYPE_CHECKING:
    from vivid_desktop.core.store import ProjectStore


def frame_file(frame: int) -> str:
    """The file name of a per-frame PNG."""
    return f"{frame:06d}.png"


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)  # later atomic replaces of src make new inodes: the snapshot keeps its bytes
    except OSError:
        shutil.copy2(src, dst)


def _plan_range(store: ProjectStore, start: int | None, stop: int | None) -> tuple[int, int]:
    src = store.project.source
    start = src.in_frame if start is None else start
    stop = src.stop if stop is None else stop
    if not 0 <= start < stop <= src.frame_count:
        raise ProjectError(f"cannot render frames {start}–{stop}: the clip has {src.frame_count} frames")
    return start, stop


def _snapshot_masks(store: ProjectStore, edit: Edit, masks_dir: Path, start: int, stop: int) -> None:
    track = edit.mask_track
    if track is not None and not track.stale:
        folder = store.path(track.folder)
        for n in range(max(start, track.start), min(stop, track.stop)):
            if (folder / frame_file(n)).is_file():
                _link(folder / frame_file(n), masks_dir / frame_file(n))
    for kf in edit.keyframes:
        mask = store.path(kf.mask)
        if not mask.is_file():
            raise ProjectError(f"the mask of the keyframe at frame {kf.frame} is missing ({kf.mask})")
        _link(mask, masks_dir / frame_file(kf.frame))


def build_render_plan(
    store: ProjectStore, edit_id: str, render_id: str, start: int | None = None, stop: int | None = None
) -> RenderPlan:
    """The plan that renders ``edit_id`` over ``[start, stop)`` (default: the project's in/out range)
    into ``renders/<render_id>/``. Masks must be saved first (``ProjectStore.prepare_render`` does)."""
    project = store.project
    edit = project.edit(edit_id)
    start, stop = _plan_range(store, start, stop)
    if not edit.keyframes and edit.mask_track is None:
        raise ProjectError(f"{edit.name or 'this edit'} has no mask yet: paint one on a keyframe first")
    out = store.render_dir(render_id)
    inputs = out / "inputs"
    _snapshot_masks(store, edit, inputs / "masks", start, stop)
    keyframes = []
    for kf in edit.keyframes:
        if not start <= kf.frame < stop:
            continue
        image = None
        if kf.image is not None:
            image_path = inputs / "keyframes" / frame_file(kf.frame)
            _link(store.path(kf.image), image_path)
            image = str(image_path)
        keyframes.append(
            KeyframeSpec(frame=kf.frame, mask=str(inputs / "masks" / frame_file(kf.frame)), image=image)
        )
    return RenderPlan(
        source=project.source.path,
        start=start,
        stop=stop,
        mask_dir=str(inputs / "masks"),
        keyframes=keyframes,
        task=edit.task,
        caption=edit.effective_caption,
        engine=edit.engine,
        seed=edit.seed,
        settings=dict(edit.settings),
        output_dir=str(out),
        feather=int(edit.settings.get("feather", 3)),
    )


def build_track_request(
    store: ProjectStore, edit_id: str, start: int | None = None, stop: int | None = None
) -> TrackMasksRequest:
    """Carry the edit's keyframe masks through ``[start, stop)`` into ``track_dir(edit_id)``."""
    edit = store.project.edit(edit_id)
    start, stop = _plan_range(store, start, stop)
    if not edit.keyframes:
        raise ProjectError(f"{edit.name or 'this edit'} has no keyframe mask to track: paint one first")
    anchors = [KeyframeSpec(frame=k.frame, mask=str(store.path(k.mask))) for k in edit.keyframes]
    return TrackMasksRequest(
        source=store.project.source.path,
        start=start,
        stop=stop,
        anchors=anchors,
        output_dir=str(store.track_dir(edit_id)),
        settings={"cache_dir": str(store.cache_dir("flow"))},
    )


def build_keyframe_request(
    store: ProjectStore, edit_id: str, frame: int, seed: int | None = None
) -> EditKeyframeRequest:
    """Preview the edit on one keyframe; the runtime writes a new file under ``cache/previews``."""
    edit = store.project.edit(edit_id)
    kf = store.project.keyframe(edit_id, frame)
    output = store.cache_dir("previews", edit_id) / f"{frame:06d}-{new_id()}.png"
    return EditKeyframeRequest(
        source=store.project.source.path,
        frame=frame,
        mask=str(store.path(kf.mask)),
        task=edit.task,
        caption=edit.effective_caption,
        engine=edit.engine,
        seed=edit.seed if seed is None else seed,
        settings=dict(edit.settings),
        output=str(output),
    )


def final_frame_path(store: ProjectStore, frame: int) -> Path | None:
    """The rendered file shown at output frame ``frame``, or None when the source frame is shown."""
    with store.project.lock:
        candidates = [
            render.id
            for edit in reversed(store.project.edits)
            if edit.enabled
            for render in reversed(edit.renders)
            if render.start <= frame < render.stop
        ]
    for render_id in candidates:
        path = store.render_frame_path(render_id, frame)
        if path.is_file():
            return path
    return None
