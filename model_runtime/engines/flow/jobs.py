"""The flow engine's jobs: propagate (delete / add / modify), edit one keyframe, track masks.

Settings (``plan.settings`` / ``request.settings``), all optional:

- ``cache_dir``: where flows are cached (default: ``.vivid-flow-cache`` beside the output folder).
- ``flow_preset`` (``ultrafast`` | ``fast`` | ``medium``) and ``flow_max_side`` (working resolution).
- ``dilate``: pixels by which masks grow before editing (delete: 3, add/modify: 0).
- ``window``, ``margin``: frames per deletion chunk and context frames on each side (default: as many
  as fit in ``memory_mb``, 768).
- ``context``: frames on each side that ``edit_keyframe`` looks at (default 10).
- ``feather`` (``edit_keyframe`` only; plans carry their own).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from model_runtime.engines.base import EngineError, JobContext
from model_runtime.engines.composite import composite
from model_runtime.engines.flow.carry import carry_keyframes
from model_runtime.engines.flow.fill import DeletionFill
from model_runtime.engines.flow.cache import FlowCache, cache_key
from model_runtime.engines.flow.flow import ClipFlow, FlowSettings
from model_runtime.engines.flow.frames import (
    ClipFrames,
    FrameCache,
    frame_path,
    preview,
    read_image,
    read_mask,
    read_png_rgb,
    write_png,
)
from model_runtime.engines.flow.masks import MaskSequence, edit_region, grow
from model_runtime.engines.flow.track import track_masks
from model_runtime.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest

NEEDS_IMAGE = (
    "The flow engine cannot invent new pixels: to {task}, import an edited keyframe image made in an image "
    "editor (its pixels are carried through the clip), or use the vivid engine."
)


def _setting(settings: dict[str, object], key: str, default: int) -> int:
    value = settings.get(key, default)
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise EngineError(
            "bad_settings", f"The setting {key!r} must be a whole number, not {value!r}."
        ) from None


def open_flows(frames: ClipFrames, source: str, settings: dict[str, object], beside: Path) -> ClipFlow:
    """The clip's flows, cached under ``settings['cache_dir']`` or a folder beside ``beside``."""
    try:
        flow_settings = FlowSettings.from_settings(settings)
    except ValueError as exc:
        raise EngineError("bad_settings", str(exc)) from None
    root = Path(str(settings.get("cache_dir") or beside.parent / ".vivid-flow-cache"))
    key = cache_key(source, flow_settings.cache_parts(*frames.size))
    return ClipFlow(frames, flow_settings, FlowCache(root / key))


def clip_range(start: int, stop: int, count: int) -> tuple[int, int]:
    """``[start, stop)`` clipped to the clip; an empty range is an error the user can fix."""
    hi = min(stop, count)
    if start >= hi:
        raise EngineError(
            "empty_range", f"The range {start}:{stop} holds no frame of this {count}-frame clip."
        )
    return start, hi


class Progress:
    """Counts finished work units and reports them with one message per phase."""

    def __init__(self, ctx: JobContext, total: int) -> None:
        self.ctx, self.total, self.done = ctx, max(1, total), 0

    def step(self, message: str, image: np.ndarray | None = None) -> None:
        self.done += 1
        self.ctx.progress(self.done, self.total, message, None if image is None else preview(image))


def _emit(ctx: JobContext, progress: Progress, t: int, path: Path, image: np.ndarray) -> None:
    write_png(path, image)
    small = preview(image)
    ctx.frame_ready(t, path, small)
    progress.done += 1
    progress.ctx.progress(progress.done, progress.total, f"frame {t}", small)


def plan_masks(plan: RenderPlan, flows: ClipFlow, lo: int, hi: int, ctx: JobContext) -> MaskSequence:
    """The plan's masks: a folder, one file, or (neither given) the keyframes' masks tracked."""
    size = flows.frames.size
    if plan.mask_dir:
        return MaskSequence.folder(plan.mask_dir, size)
    if plan.mask:
        return MaskSequence.single(plan.mask, size)
    anchors = {k.frame: read_mask(k.mask, size) for k in plan.keyframes if lo <= k.frame < hi}
    if not anchors:
        raise EngineError(
            "mask_missing", "The plan names no mask: give a mask, a mask folder or keyframe masks."
        )
    ctx.log(f"tracking keyframe masks {sorted(anchors)} through {lo}:{hi}")
    encoded = {
        t: cv2.imencode(".png", m)[1].tobytes()
        for t, m in track_masks(flows, anchors, lo, hi, check=ctx.check_cancelled)
    }
    return MaskSequence.encoded(encoded)


def propagate(plan: RenderPlan, ctx: JobContext) -> None:
    """Render ``[plan.start, plan.stop)`` into ``plan.output_dir``; finished frames are kept (resume)."""
    with ClipFrames(plan.source) as frames:
        lo, hi = clip_range(plan.start, plan.stop, frames.frame_count)
        out_dir = Path(plan.output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        todo = [t for t in range(lo, hi) if not frame_path(out_dir, t).exists()]
        keyframes = _keyframe_images(plan, frames.size, lo, hi)
        flows = open_flows(frames, plan.source, plan.settings, out_dir)
        if not todo:
            ctx.progress(1, 1, "every frame is already rendered")
            return
        ctx.log(f"flow engine: {plan.task} {len(todo)} of {hi - lo} frames ({lo}:{hi})")
        progress = Progress(ctx, len(flows.missing(lo, hi)) + len(todo))
        masks = plan_masks(plan, flows, lo, hi, ctx)
        if plan.task == "delete":
            _delete(plan, ctx, flows, masks, (lo, hi), set(todo), progress)
        else:
            _carry(plan, ctx, flows, masks, keyframes, (lo, hi), set(todo), progress)


def _keyframe_images(plan: RenderPlan, size: tuple[int, int], lo: int, hi: int) -> dict[int, np.ndarray]:
    images = {k.frame: read_image(k.image, size) for k in plan.keyframes if k.image and lo <= k.frame < hi}
    if plan.task != "delete" and not images:
        raise EngineError("needs_edited_image", NEEDS_IMAGE.format(task=plan.task))
    return images


def _chunks(settings: dict[str, object], size: tuple[int, int], lo: int, hi: int) -> tuple[int, int]:
    """(window, margin): deletion works on ``window`` frames plus ``margin`` context frames each side."""
    per_frame = size[0] * size[1] * 8  # the frame, its masks and the fill's bookkeeping
    fits = max(8, _setting(settings, "memory_mb", 768) * (1 << 20) // per_frame)
    window = _setting(settings, "window", 0)
    margin = _setting(settings, "margin", 24)
    if window <= 0:
        if hi - lo <= fits:
            return hi - lo, 0
        margin = min(margin, fits // 4)
        window = fits - 2 * margin
    return max(1, window), max(0, margin)


def _delete(
    plan: RenderPlan,
    ctx: JobContext,
    flows: ClipFlow,
    masks: MaskSequence,
    span: tuple[int, int],
    todo: set[int],
    progress: Progress,
) -> None:
    lo, hi = span
    dilate = _setting(plan.settings, "dilate", 3)
    window, margin = _chunks(plan.settings, flows.frames.size, lo, hi)
    out_dir = Path(plan.output_dir)
    last: dict[int, np.ndarray] = {}

    def previous(t: int) -> np.ndarray | None:
        """The finished frame before ``t``: just written, or already on disk from an earlier run."""
        if t - 1 in last:
            return last[t - 1]
        path = frame_path(out_dir, t - 1)
        return read_png_rgb(path) if t - 1 >= lo and path.exists() else None

    for a in range(lo, hi, window):
        b = min(a + window, hi)
        wanted = [t for t in range(a, b) if t in todo]
        if not wanted:
            continue
        c0, c1 = max(lo, a - margin), min(hi, b + margin)
        flows.ensure(c0, c1, on_pair=lambda i: progress.step("optical flow"))
        stack = np.stack([f for _, f in flows.frames.iter_frames(c0, c1)])
        edits = [edit_region(masks(t), dilate) for t in range(c0, c1)]
        areas = [grow(e, plan.feather + 1) for e in edits]
        fill = DeletionFill(flows, stack, areas, c0, ctx.check_cancelled)
        for i, filled in fill.run([t - c0 for t in wanted], lambda i, c0=c0: previous(c0 + i)):
            t = c0 + i
            out = composite(stack[i], filled, edits[i].astype(np.uint8) * 255, plan.feather)
            last.clear()
            last[t] = out
            _emit(ctx, progress, t, frame_path(out_dir, t), out)


def _carry(
    plan: RenderPlan,
    ctx: JobContext,
    flows: ClipFlow,
    masks: MaskSequence,
    keyframes: dict[int, np.ndarray],
    span: tuple[int, int],
    todo: set[int],
    progress: Progress,
) -> None:
    lo, hi = span
    dilate = _setting(plan.settings, "dilate", 0)
    flows.ensure(lo, hi, on_pair=lambda i: progress.step("optical flow"))
    frames = FrameCache(flows.frames)

    def edit(t: int) -> np.ndarray:
        return edit_region(masks(t), dilate)

    def area(t: int) -> np.ndarray:
        return grow(edit(t), plan.feather + 1)

    carried = carry_keyframes(flows, keyframes, area, lo, hi, lambda t: t in todo, ctx.check_cancelled)
    for t, values, valid in carried:
        source = frames.read(t)
        edited = source.copy()
        edited[valid] = values[valid]
        out = composite(source, edited, edit(t).astype(np.uint8) * 255, plan.feather)
        _emit(ctx, progress, t, frame_path(plan.output_dir, t), out)


def edit_keyframe(request: EditKeyframeRequest, ctx: JobContext) -> Path:
    """Delete on one frame: a temporal fill from the frames around it, then spatial inpainting."""
    if request.task != "delete":
        raise EngineError("needs_edited_image", NEEDS_IMAGE.format(task=request.task))
    output = Path(request.output)
    with ClipFrames(request.source) as frames:
        f = request.frame
        lo, hi = clip_range(f, f + 1, frames.frame_count)
        mask = read_mask(request.mask, frames.size)
        reach = _setting(request.settings, "context", 10)
        dilate = _setting(request.settings, "dilate", 3)
        feather = _setting(request.settings, "feather", 3)
        lo, hi = max(0, f - reach), min(frames.frame_count, f + reach + 1)
        flows = open_flows(frames, request.source, request.settings, output)
        progress = Progress(ctx, len(flows.missing(lo, hi)) + 2)
        flows.ensure(lo, hi, on_pair=lambda i: progress.step("optical flow"))
        tracked = dict(track_masks(flows, {f: mask}, lo, hi, check=ctx.check_cancelled))
        progress.step("tracking the mask")
        # Neighbours' masks are tracked, so they get a little more room around the object.
        edits = [edit_region(tracked[t], dilate + (0 if t == f else 2)) for t in range(lo, hi)]
        areas = [grow(e, feather + 1) for e in edits]
        stack = np.stack([img for _, img in frames.iter_frames(lo, hi)])
        fill = DeletionFill(flows, stack, areas, lo, ctx.check_cancelled)
        ((_, filled),) = fill.run([f - lo], lambda i: None)
        out = composite(stack[f - lo], filled, edits[f - lo].astype(np.uint8) * 255, feather)
        write_png(output, out)
        progress.step("done", out)
        return output


def track_masks_job(request: TrackMasksRequest, ctx: JobContext) -> None:
    """Carry the request's anchor masks through its range into ``{frame:06d}.png`` files."""
    out_dir = Path(request.output_dir)
    with ClipFrames(request.source) as frames:
        lo, hi = clip_range(request.start, request.stop, frames.frame_count)
        anchors = {a.frame: read_mask(a.mask, frames.size) for a in request.anchors if lo <= a.frame < hi}
        if not anchors:
            raise EngineError("no_anchor", f"No anchor mask lies inside the range {lo}:{hi}.")
        out_dir.mkdir(parents=True, exist_ok=True)
        todo = {t for t in range(lo, hi) if not frame_path(out_dir, t).exists()}
        flows = open_flows(frames, request.source, {}, out_dir)
        progress = Progress(ctx, len(flows.missing(lo, hi)) + len(todo))
        flows.ensure(lo, hi, on_pair=lambda i: progress.step("optical flow"))
        needed: Callable[[int], bool] = lambda t: t in todo  # noqa: E731
        for t, mask in track_masks(flows, anchors, lo, hi, needed, ctx.check_cancelled):
            _emit(ctx, progress, t, frame_path(out_dir, t), mask)
