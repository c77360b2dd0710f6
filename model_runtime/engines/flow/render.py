"""The two ways the flow engine renders a plan: deletion (temporal fill) and keyframe propagation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_runtime.engines.base import JobContext
from model_runtime.engines.composite import composite
from model_runtime.engines.flow.carry import carry_keyframes
from model_runtime.engines.flow.crop import fill_box, largest_motion
from model_runtime.engines.flow.fill import DeletionFill, WorkHole, work_hole
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.frames import FrameBlocks, FrameWriter
from model_runtime.engines.flow.masks import MaskSequence, edit_region, grow
from model_runtime.engines.flow.settings import JobSettings
from vivid_desktop.render_folder import frame_path, frame_preview, read_done_frame


class Progress:
    """Counts finished work units (flow pairs, frames) for ``ctx.progress``."""

    def __init__(self, ctx: JobContext, total: int, unit: str = "") -> None:
        self.ctx, self.total, self.done, self.unit = ctx, max(1, total), 0, unit

    def step(self, message: str, image: np.ndarray | None = None) -> None:
        """One unit done; also the place where long phases (optical flow) notice a cancel."""
        self.ctx.check_cancelled()
        self.done += 1
        preview = None if image is None else frame_preview(image)
        if self.unit:  # what ``done`` counts (a keyframe preview's stages), protocol 1.2
            self.ctx.progress(self.done, self.total, message, preview, unit=self.unit)
        else:
            self.ctx.progress(self.done, self.total, message, preview)

    def writer(self) -> FrameWriter:
        """Writes frames in the background; each is announced (``frame_ready``, progress) once on disk."""

        def done(t: int, path: Path, image: np.ndarray) -> None:
            small = frame_preview(image)
            self.ctx.frame_ready(t, path, small)
            self.done += 1
            self.ctx.progress(self.done, self.total, f"frame {t}", small)

        return FrameWriter(done)


@dataclass
class Render:
    """One propagation: frames ``[lo, hi)`` of which ``todo`` are still missing from ``out_dir``."""

    ctx: JobContext
    cfg: JobSettings
    flows: ClipFlow
    masks: MaskSequence
    lo: int
    hi: int
    todo: set[int]
    out_dir: Path
    feather: int
    progress: Progress

    def _edit(self, t: int) -> np.ndarray:
        return edit_region(self.masks(t), self.cfg.dilate)

    def delete(self, keyframes: dict[int, np.ndarray]) -> None:
        """Fill the masks from the other frames, chunk by chunk, in frame order.

        An edited keyframe (a clean plate from an image editor) is known content: its frame shows it
        inside the mask and the frames around it take their fill from it like from any visible pixel.
        """
        window, margin = self.cfg.chunks(self.flows.frames.size, self.hi - self.lo)
        last: dict[int, np.ndarray] = {}

        def previous(t: int) -> np.ndarray | None:
            """The finished frame before ``t``: just made, or on disk from an earlier run."""
            if t - 1 in last:
                return last[t - 1]
            return read_done_frame(self.out_dir, t - 1) if t - 1 >= self.lo else None

        with self.progress.writer() as writer:
            for a in range(self.lo, self.hi, window):
                wanted = [t for t in range(a, min(a + window, self.hi)) if t in self.todo]
                if not wanted:
                    continue
                span = (max(self.lo, a - margin), min(self.hi, a + window + margin))
                for t, out in self._delete_chunk(span, wanted, previous, keyframes):
                    last.clear()
                    last[t] = out
                    writer.put(t, frame_path(self.out_dir, t), out)

    def _regions(self, c0: int, c1: int) -> tuple[list[np.ndarray], list[np.ndarray], list[WorkHole]]:
        """The edit regions of frames ``[c0, c1)``, the areas to fill (grown by the feather band, so that
        the blend there is between source and fill) and those areas at the flows' working size."""
        edits = [self._edit(t) for t in range(c0, c1)]
        areas = [grow(e, self.feather + 1) for e in edits]
        return edits, areas, [work_hole(self.flows, a) for a in areas]

    def _delete_chunk(
        self,
        span: tuple[int, int],
        wanted: list[int],
        previous: Callable[[int], np.ndarray | None],
        keyframes: dict[int, np.ndarray],
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Finished frames ``wanted``, filled from the frames of ``span`` (the chunk and its margins)."""
        c0, c1 = span
        if self.cfg.threads > 1:  # masks read while the frames decode and the flows are computed
            with ThreadPoolExecutor(1, "flow-masks") as pool:
                regions = pool.submit(self._regions, c0, c1)
                stack = self.flows.read_with_flows(c0, c1, lambda i: self.progress.step("optical flow"))
                edits, areas, holes = regions.result()
        else:
            stack = self.flows.read_with_flows(c0, c1, lambda i: self.progress.step("optical flow"))
            edits, areas, holes = self._regions(c0, c1)
        sources = {}
        for t, image in keyframes.items():
            if c0 <= t < c1:
                i = t - c0
                sources[i] = stack[i].copy()
                stack[i][areas[i]] = image[areas[i]]
                areas[i] = np.zeros_like(areas[i])
        box = fill_box(areas, largest_motion(self.flows, c0, c1)) if self.cfg.crop else None
        view = box or (slice(None), slice(None))
        origin = (view[1].start or 0, view[0].start or 0)
        check, seamless = self.ctx.check_cancelled, self.cfg.seamless
        crops = [a[view] for a in areas]
        fill = DeletionFill(self.flows, stack[:, view[0], view[1]], crops, c0, check, seamless, origin, holes)
        fill.parallel = self.cfg.threads > 1

        def before(i: int) -> np.ndarray | None:
            done = previous(c0 + i)
            return None if done is None else done[view]

        for i, filled in fill.run([t - c0 for t in wanted], before):
            if box is not None:
                filled, crop = stack[i].copy(), filled
                filled[box] = crop
            source = sources.get(i, stack[i])
            yield c0 + i, composite(source, filled, edits[i].astype(np.uint8) * 255, self.feather)

    def carry(self, keyframes: dict[int, np.ndarray]) -> None:
        """Carry the edited keyframes' pixels through the range inside the masks."""
        self.flows.ensure(self.lo, self.hi, on_pair=lambda i: self.progress.step("optical flow"))
        frames = FrameBlocks(self.flows.frames)

        def area(t: int) -> np.ndarray:
            return grow(self._edit(t), self.feather + 1)

        carried = carry_keyframes(
            self.flows, keyframes, area, self.lo, self.hi, self.todo.__contains__, self.ctx.check_cancelled
        )
        with self.progress.writer() as writer:
            for t, values, valid in carried:
                source = frames.read(t)
                edited = source.copy()
                edited[valid] = values[valid]
                out = composite(source, edited, self._edit(t).astype(np.uint8) * 255, self.feather)
                writer.put(t, frame_path(self.out_dir, t), out)
