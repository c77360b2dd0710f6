"""Keyframe previews (image mode) and KIVE propagation (video mode, window by window) for the engine.

Render folder rules (the folder is the source of truth; DESIGN.md §3.4):

- Frames are written as ``{frame:06d}.png`` atomically, chunk by chunk as the VAE decodes them, each
  announced with ``frame_ready``. A frame that was announced stays (cancel is honoured at the next
  denoising step or window boundary, never in the middle of a window's decode).
- A window is *finished* when every frame it writes (``Window.writes``) is in the folder. Finished windows
  are skipped. An unfinished window is rendered from scratch, overwriting its frames; and once a window is
  rendered, every later window of the same segment (up to the next keyframe) is rendered too, because its
  known frame changed. So a crash mid-window, or frames deleted by the editor, resume correctly.
- If a window fails (out-of-memory retry, error), the frames it wrote in this attempt are removed first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from model_runtime.engines.base import EngineError, JobContext
from model_runtime.engines.composite import composite
from model_runtime.vivid import framing
from model_runtime.vivid.frames import kive_inputs
from model_runtime.vivid.runner import Runner, caption_for
from model_runtime.vivid.settings import VividSettings
from vivid_desktop.media.clip_frames import ClipFrames
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan
from vivid_desktop.protocol.windows import Window, plan_windows
from vivid_desktop.render_folder import (
    MaskFolder,
    done_frames,
    frame_path,
    frame_preview,
    read_image,
    read_mask,
    remove_stale_temps,
    write_frame,
)


def window_seed(seed: int, window: Window) -> int:
    """Each window's noise depends only on the job seed and where the window starts (resume-stable)."""
    return (seed * 1_000_003 + window.start) % (2**63)


def pending_windows(windows: list[Window], out_dir: Path) -> list[Window]:
    """Windows still to render, by the render-folder rules in the module docstring."""
    existing = set(done_frames(out_dir))
    todo: list[Window] = []
    dirty = False
    for w in windows:
        if w.known_frame is None or w.keyframe:
            dirty = False  # a new segment: its first window does not depend on earlier output
        if dirty or not all(f in existing for f in w.writes):
            todo.append(w)
            dirty = True
    return todo


def edit_keyframe(runner: Runner, settings: VividSettings, req: EditKeyframeRequest, ctx: JobContext) -> Path:
    """Image mode: one frame, one latent frame; the result is composited onto the source."""
    with ClipFrames(req.source) as clip:
        clip.clip_range(req.frame, req.frame + 1)
        source = clip.read(req.frame)
    mask = read_mask(req.mask, source.shape[:2])
    box = framing.choose(settings.framing, [mask], runner.resolution(settings), settings.feather)
    result: list[np.ndarray] = []

    def on_step(i: int, total: int, preview) -> None:
        ctx.check_cancelled()  # between steps: a cancel stops the pass here
        ctx.progress(i + 1, total, f"keyframe {req.frame}: step {i + 1}/{total}", preview, unit="step")

    runner.generate(
        [box.to_model(source)],
        [box.to_model(mask)],
        caption=caption_for(req.task, req.caption),
        seed=req.seed,
        settings=settings,
        on_step=on_step,
        on_chunk=lambda _first, frames: result.extend(frames),
        on_retry=result.clear,
        log=ctx.log,
    )
    out = composite(source, box.from_model(result[0], source), mask, settings.feather)
    ctx.check_cancelled()  # cancelled while decoding: no file, the previous preview stays
    return write_frame(req.output, out)


class Propagation:
    """One propagate job: plan the windows, skip finished ones, render the rest in order."""

    def __init__(self, runner: Runner, settings: VividSettings, plan: RenderPlan, ctx: JobContext) -> None:
        self.runner, self.settings, self.plan, self.ctx = runner, settings, plan, ctx
        self.out_dir = Path(plan.output_dir)
        self.keys = {k.frame: k for k in plan.keyframes if k.image}
        self.caption = caption_for(plan.task, plan.caption)

    def run(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.out_dir)
        with ClipFrames(self.plan.source) as clip:
            lo, hi = clip.clip_range(self.plan.start, self.plan.stop)
            windows = plan_windows(
                lo, hi, sorted(self.keys), self.settings.window_length, self.settings.stride
            )
            todo = pending_windows(windows, self.out_dir)
            self.ctx.log(f"{len(windows)} window(s), {len(windows) - len(todo)} already finished")
            if not todo:
                return
            self.shape = clip.shape
            self.masks = self._mask_reader()
            units = len(todo) * (self.settings.steps + 1)
            for n, w in enumerate(todo):
                self.ctx.check_cancelled()
                self._window(clip, w, n, len(todo), units)

    def _mask_reader(self) -> Callable[[int], np.ndarray]:
        """The plan's masks: a folder of per-frame files (nearest for the others) or one file."""
        if self.plan.mask_dir:
            folder = MaskFolder(self.plan.mask_dir)
            folder.read(folder.frames[0], self.shape)  # a wrong size is reported before any work starts
            return lambda f: folder.read(f, self.shape)
        if self.plan.mask:
            mask = read_mask(self.plan.mask, self.shape)
            return lambda f: mask
        raise EngineError(ErrorCode.MASK_MISSING, "The plan names no mask: give a mask or a mask folder.")

    def _framing(self, w: Window, masks: list[np.ndarray]) -> framing.CropBox | framing.WholeFrame:
        """One framing for the whole window: a crop around all its masks (and its keyframe's), or all."""
        if w.keyframe and w.known_frame is not None:
            masks = [*masks, read_mask(self.keys[w.known_frame].mask, self.shape)]
        res = self.runner.resolution(self.settings)
        box = framing.choose(self.settings.framing, masks, res, self.plan.feather)
        if isinstance(box, framing.CropBox):
            where = f"{box.width}×{box.height} at ({box.left}, {box.top})"
            self.ctx.log(f"window {w.start}–{w.stop - 1}: model runs on a crop of {where}")
        return box

    def _known(self, w: Window, source: np.ndarray) -> np.ndarray:
        assert w.known_frame is not None
        if w.keyframe:
            spec = self.keys[w.known_frame]
            edited = read_image(spec.image, self.shape)  # type: ignore[arg-type]
            return composite(source, edited, read_mask(spec.mask, self.shape), self.plan.feather)
        return read_image(frame_path(self.out_dir, w.known_frame), self.shape)

    def _window(self, clip: ClipFrames, w: Window, n: int, count: int, units: int) -> None:
        order = w.model_frames()  # source frame of each model frame (reversed for backward windows)
        sources = [clip.read(f) for f in order]
        masks = [self.masks(f) for f in order]
        known = self._known(w, sources[0]) if w.known_frame is not None else None
        frames, cond_masks = kive_inputs(sources, masks, known, w.pad)  # known content: mask zero
        box = self._framing(w, masks)
        written: list[Path] = []
        outputs: list[np.ndarray] = []
        out_idx: list[int] = []
        base = n * (self.settings.steps + 1)
        writes = set(w.writes)

        def on_step(i: int, total: int, preview) -> None:
            self.ctx.check_cancelled()
            where = f"frames {w.start}–{w.stop - 1}, {w.direction}"
            msg = f"window {n + 1}/{count} ({where}): step {i + 1}/{total}"
            self.ctx.progress(base + i + 1, units, msg, preview)

        def on_chunk(first: int, chunk: list[np.ndarray]) -> None:
            for j, img in enumerate(chunk):
                idx = first + j  # model frame index; past len(order) are padding outputs
                if idx >= len(order) or order[idx] not in writes:
                    continue
                frame = order[idx]
                if known is not None and w.keyframe and idx == 0:
                    out = known  # the edited keyframe itself, unchanged
                else:
                    model_out = box.from_model(img, sources[idx])
                    out = composite(sources[idx], model_out, masks[idx], self.plan.feather)
                    outputs.append(out)
                    out_idx.append(idx)
                path = write_frame(frame_path(self.out_dir, frame), out)
                written.append(path)
                self.ctx.frame_ready(frame, path, frame_preview(out))

        def rollback() -> None:
            for p in written:
                p.unlink(missing_ok=True)
            written.clear()
            outputs.clear()
            out_idx.clear()

        try:
            mode = self.runner.generate(
                [box.to_model(f) for f in frames],
                [box.to_model(m) for m in cond_masks],
                caption=self.caption,
                seed=window_seed(self.plan.seed, w),
                settings=self.settings,
                on_step=on_step,
                on_chunk=on_chunk,
                on_retry=rollback,
                log=self.ctx.log,
            )
        except BaseException:
            with contextlib.suppress(OSError):
                rollback()
            raise
        self.ctx.progress(base + self.settings.steps + 1, units, f"window {n + 1}/{count} written ({mode})")
        if self.runner.check_frozen(outputs, [masks[i] for i in out_idx], [sources[i] for i in out_idx]):
            self.ctx.log(f"warning: frames {w.start}–{w.stop - 1} look frozen (identical inside the mask)")
