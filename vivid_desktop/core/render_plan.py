"""Runtime job requests for edits (render plan, mask tracking, keyframe preview), and how the output
frame at each frame number is made from the rendered frames.

Usage (normally through ``ProjectStore.prepare_render``, ``prepare_track``, ``prepare_keyframe_preview``
and ``final_layers``, which save the masks first)::

    plan = build_render_plan(store, edit.id, render_id, start=0, stop=49)   # a protocol RenderPlan
    track = build_track_request(store, edit.id)            # TrackMasksRequest into masks/<edit>/track
    preview = build_keyframe_request(store, edit.id, 12)   # EditKeyframeRequest into cache/previews
    layers = final_layers(store, 40)       # rendered files at frame 40, bottom edit first ([] = source)
    out = compose_layers(source_frame, [read_png(p) for p in layers])   # the output frame 40
    path = final_frame_path(store, 40)     # the topmost of those layers, or None

A plan never points into folders that later edits change: the masks and edited keyframes it uses are
snapshotted (hard links of files inside the project, else copies) into ``renders/<id>/inputs/``, so a
render can be resumed or audited with exactly what it started from; a resumed plan's paths are rebuilt
from its render id (``stored_plan``), never read from ``project.json``. Masks: the edit's tracked masks
when a current track exists, with the
keyframe masks on top (keyframes are the anchors); otherwise only the keyframe masks, and the runtime uses
the nearest one for frames without a file (``RenderPlan.mask_dir``). Keyframes outside ``[start, stop)``
are left out.

Edits apply in order like layers. Each render reads the original source, and the engines guarantee that
a render equals the source exactly outside its feathered mask; so the output at a frame composes the
layers bottom-to-top: start from the source frame, and for each enabled edit in order that has a rendered
frame there (its newest render that has it), take the pixels where that render differs from the source
(``changed = np.any(render != source, axis=-1)``; ``out[changed] = render[changed]``). With one layer the
output is that render exactly, so no source decode is needed; with none it is the source frame.
Edge case (benign): a pixel inside an upper edit's mask that its render left exactly equal to the source
shows the lower layers there, the same as if the upper edit's mask had not covered it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from vivid_desktop.core.paths import inside
from vivid_desktop.core.project import Edit, ProjectError, Render, new_id
from vivid_desktop.protocol.jobs import (
    PATH_SETTINGS,
    EditKeyframeRequest,
    KeyframeSpec,
    RenderPlan,
    TrackMasksRequest,
)
from vivid_desktop.render_folder import frame_name

if TYPE_CHECKING:
    from vivid_desktop.core.layout import ProjectLayout
    from vivid_desktop.core.store import ProjectStore


def _link(root: Path, src: Path, dst: Path) -> None:
    """Snapshot ``src`` (a file in the project folder ``root``) at ``dst``: a hard link of the file
    itself (never of a link, never of a file outside the project), else a copy."""
    real = inside(root, *src.relative_to(root).parts).resolve()
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.link(real, dst, follow_symlinks=False)  # later atomic replaces of src make new inodes
    except OSError:
        shutil.copyfile(real, dst)


def _engine_settings(settings: dict) -> dict:
    """An edit's settings as a plan carries them: folders are chosen by the store, never stored."""
    return {k: v for k, v in settings.items() if k not in PATH_SETTINGS}


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
            if (folder / frame_name(n)).is_file():
                _link(store.folder, folder / frame_name(n), masks_dir / frame_name(n))
    for kf in edit.keyframes:
        mask = store.path(kf.mask)
        if not mask.is_file():
            raise ProjectError(f"the mask of the keyframe at frame {kf.frame} is missing ({kf.mask})")
        _link(store.folder, mask, masks_dir / frame_name(kf.frame))


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
            image_path = inputs / "keyframes" / frame_name(kf.frame)
            _link(store.folder, store.path(kf.image), image_path)
            image = str(image_path)
        keyframes.append(
            KeyframeSpec(frame=kf.frame, mask=str(inputs / "masks" / frame_name(kf.frame)), image=image)
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
        settings=_engine_settings(edit.settings),
        output_dir=str(out),
        feather=int(edit.settings.get("feather", 3)),
    )


def stored_plan(store: ProjectLayout, render: Render, source: str) -> RenderPlan:
    """A recorded render's plan with every path rebuilt from its render id (``renders/<id>/`` and its
    ``inputs/``) and the project's source: a stored plan's paths are never used, so a crafted
    ``project.json`` cannot send a resumed render's frames or caches elsewhere."""
    out = store.render_dir(render.id)
    inputs = out / "inputs"
    data = dict(render.plan)
    try:
        keyframes = [
            KeyframeSpec(
                frame=k["frame"],
                mask=str(inputs / "masks" / frame_name(int(k["frame"]))),
                image=str(inputs / "keyframes" / frame_name(int(k["frame"]))) if k.get("image") else None,
            )
            for k in data.get("keyframes") or []
        ]
        data.update(
            source=source,
            output_dir=str(out),
            mask_dir=str(inputs / "masks"),
            mask=None,
            keyframes=keyframes,
            settings=_engine_settings(dict(data.get("settings") or {})),
        )
        return RenderPlan.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ProjectError(f"the plan of render {render.id!r} is not valid: {where}: {err['msg']}") from exc
    except (TypeError, KeyError, ValueError) as exc:
        raise ProjectError(f"the plan of render {render.id!r} is not valid: {exc!r}") from exc


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
    output = store.preview_dir(edit_id) / f"{frame:06d}-{new_id()}.png"
    return EditKeyframeRequest(
        source=store.project.source.path,
        frame=frame,
        mask=str(store.path(kf.mask)),
        task=edit.task,
        caption=edit.effective_caption,
        engine=edit.engine,
        seed=edit.seed if seed is None else seed,
        settings=_engine_settings(edit.settings),
        output=str(output),
    )


def final_layers(store: ProjectStore, frame: int) -> list[Path]:
    """The rendered files composed at output frame ``frame``, bottom layer first: for each enabled edit
    in order, the newest of its renders whose file for ``frame`` exists. Empty = the source frame."""
    with store.project.lock:
        per_edit = [
            [render.id for render in reversed(edit.renders) if render.start <= frame < render.stop]
            for edit in store.project.edits
            if edit.enabled
        ]
    layers = []
    for render_ids in per_edit:
        for render_id in render_ids:
            path = store.render_frame_path(render_id, frame)
            if path.is_file():
                layers.append(path)
                break
    return layers


def final_frame_path(store: ProjectStore, frame: int) -> Path | None:
    """The topmost of ``final_layers`` (the output itself when it is the only one), or None when the
    source frame is shown."""
    layers = final_layers(store, frame)
    return layers[-1] if layers else None


def compose_layers(source: np.ndarray, layers: list[np.ndarray]) -> np.ndarray:
    """The output frame: ``layers`` (RGB renders, bottom first) over ``source`` (RGB); see the module
    docstring. A single layer is returned as is; a new array otherwise."""
    if len(layers) == 1:
        return layers[0]
    out = source.copy()
    for layer in layers:
        if layer.shape != source.shape:
            raise ProjectError(
                f"a rendered frame is {layer.shape[1]}×{layer.shape[0]}, "
                f"but the source frame is {source.shape[1]}×{source.shape[0]}"
            )
        changed = np.any(layer != source, axis=-1)
        out[changed] = layer[changed]
    return out
