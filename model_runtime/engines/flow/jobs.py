"""The flow engine's jobs: propagate (delete / add / modify), edit one keyframe, track masks.

Every job checks its inputs (source, range, masks, images, settings) before any work, so a bad request
fails at once with one :class:`EngineError`; see :mod:`model_runtime.engines.flow.settings` for the
settings.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from model_runtime.engines.base import EngineError, JobContext
from model_runtime.engines.composite import composite
from model_runtime.engines.flow.fill import DeletionFill
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.masks import MaskSequence, edit_region, grow
from model_runtime.engines.flow.render import Progress, Render
from model_runtime.engines.flow.settings import JobSettings
from model_runtime.engines.flow.track import TRACK_FLOW_PRESET, track_masks
from vivid_desktop.media.clip_frames import ClipFrames
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest
from vivid_desktop.render_folder import (
    frame_path,
    missing_frames,
    read_image,
    read_mask,
    remove_stale_temps,
    write_frame,
)

NEEDS_IMAGE = (
    "The flow engine cannot invent new pixels: to {task}, import an edited keyframe image made in an image "
    "editor (its pixels are carried through the clip), or use the vivid engine."
)


def plan_masks(plan: RenderPlan, flows: ClipFlow, span: tuple[int, int], ctx: JobContext) -> MaskSequence:
    """The plan's masks: a folder, one file, or (neither given) the keyframes' masks tracked."""
    w, h = flows.frames.size
    if plan.mask_dir:
        return MaskSequence.folder(plan.mask_dir, (h, w))
    if plan.mask:
        return MaskSequence.single(plan.mask, (h, w))
    lo, hi = span
    anchors = {k.frame: read_mask(k.mask, (h, w)) for k in plan.keyframes if lo <= k.frame < hi}
    if not anchors:
        raise EngineError(
            ErrorCode.MASK_MISSING, "The plan names no mask: give a mask, a mask folder or keyframe masks."
        )
    ctx.log(f"tracking keyframe masks {sorted(anchors)} through {lo}:{hi}")
    flows.ensure(lo, hi)
    tracked = track_masks(flows, anchors, lo, hi, check=ctx.check_cancelled)
    return MaskSequence.encoded({t: cv2.imencode(".png", m)[1].tobytes() for t, m in tracked})


def propagate(plan: RenderPlan, ctx: JobContext) -> None:
    """Render ``[plan.start, plan.stop)`` into ``plan.output_dir``; finished frames are kept (resume)."""
    out_dir = Path(plan.output_dir)
    cfg = JobSettings.parse(plan.settings, plan.task, out_dir)
    with ClipFrames(plan.source) as frames:
        lo, hi = frames.clip_range(plan.start, plan.stop)
        keyframes = {
            k.frame: read_image(k.image, frames.shape)
            for k in plan.keyframes
            if k.image and lo <= k.frame < hi
        }
        if plan.task != "delete" and not keyframes:
            raise EngineError(ErrorCode.NEEDS_EDITED_IMAGE, NEEDS_IMAGE.format(task=plan.task))
        todo = set(missing_frames(out_dir, lo, hi))
        if not todo:
            ctx.progress(1, 1, "every frame is already rendered")
            return
        flows = cfg.flows(frames, plan.source)
        masks = plan_masks(plan, flows, (lo, hi), ctx)
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(out_dir)
        ctx.log(f"flow engine: {plan.task} {len(todo)} of {hi - lo} frames ({lo}:{hi})")
        progress = Progress(ctx, len(flows.missing(lo, hi)) + len(todo))
        render = Render(ctx, cfg, flows, masks, lo, hi, todo, out_dir, plan.feather, progress)
        if plan.task == "delete":
            render.delete(keyframes)
        else:
            render.carry(keyframes)


def edit_keyframe(request: EditKeyframeRequest, ctx: JobContext) -> Path:
    """Delete on one frame: a temporal fill from the frames around it, then spatial inpainting."""
    if request.task != "delete":
        raise EngineError(ErrorCode.NEEDS_EDITED_IMAGE, NEEDS_IMAGE.format(task=request.task))
    output = Path(request.output)
    cfg = JobSettings.parse(request.settings, request.task, output)
    with ClipFrames(request.source) as frames:
        f = request.frame
        frames.clip_range(f, f + 1)
        mask = read_mask(request.mask, frames.shape)
        lo, hi = max(0, f - cfg.context), min(frames.frame_count, f + cfg.context + 1)
        flows = cfg.flows(frames, request.source)
        progress = Progress(ctx, len(flows.missing(lo, hi)) + 2, unit="stage")
        stack = np.stack([img for _, img in frames.iter_frames(lo, hi)])
        flows.ensure(lo, hi, on_pair=lambda i: progress.step("optical flow"), frames=stack)
        tracked = dict(track_masks(flows, {f: mask}, lo, hi, check=ctx.check_cancelled))
        progress.step("tracking the mask")
        # The neighbours' masks are only tracked, so they get a little more room around the object.
        edits = [edit_region(tracked[t], cfg.dilate + (0 if t == f else 2)) for t in range(lo, hi)]
        areas = [grow(e, cfg.feather + 1) for e in edits]
        fill = DeletionFill(flows, stack, areas, lo, ctx.check_cancelled, cfg.seamless)
        ((_, filled),) = fill.run([f - lo], lambda i: None)
        out = composite(stack[f - lo], filled, edits[f - lo].astype(np.uint8) * 255, cfg.feather)
        ctx.check_cancelled()  # no file after a cancel: the previous preview stays
        write_frame(output, out)
        progress.step("done", out)
        return output


def track_masks_job(request: TrackMasksRequest, ctx: JobContext) -> None:
    """Carry the request's anchor masks through its range into ``{frame:06d}.png`` files."""
    out_dir = Path(request.output_dir)
    cfg = JobSettings.parse({"flow_preset": TRACK_FLOW_PRESET, **request.settings}, "delete", out_dir)
    with ClipFrames(request.source) as frames:
        lo, hi = frames.clip_range(request.start, request.stop)
        anchors = {a.frame: read_mask(a.mask, frames.shape) for a in request.anchors if lo <= a.frame < hi}
        if not anchors:
            raise EngineError(ErrorCode.NO_ANCHOR, f"No anchor mask lies inside the range {lo}:{hi}.")
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(out_dir)
        todo = set(missing_frames(out_dir, lo, hi))
        flows = cfg.flows(frames, request.source)
        progress = Progress(ctx, len(flows.missing(lo, hi)) + len(todo))
        flows.ensure(lo, hi, on_pair=lambda i: progress.step("optical flow"))
        tracked = track_masks(flows, anchors, lo, hi, todo.__contains__, ctx.check_cancelled)
        with progress.writer() as writer:
            for t, mask in tracked:
                writer.put(t, frame_path(out_dir, t), mask)
