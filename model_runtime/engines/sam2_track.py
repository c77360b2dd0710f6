"""Tracking with SAM 2.1: anchor masks → a mask on every frame, both ways from every anchor.

Like the flow tracker, the clip is cut at the anchors. Between two anchors p < q, SAM 2 runs twice —
backward from q, then forward from p — each pass with both anchors in its memory (SAM 2's conditioning
frames), and the two passes' mask logits are blended by distance (p's pass counts more near p), so a
correction on q reaches back towards p and p's shape carries towards q. Before the first anchor only
the backward pass runs, after the last only the forward one. Frames are streamed into the model one at a
time and the session forgets what its memory no longer reaches, so a long clip costs no more memory than
a short one. ``check`` is called once per model step (progress and cancel).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from model_runtime.engines.sam2_model import Sam2, load_sam2
from vivid_desktop.media.clip_frames import FrameSource

if TYPE_CHECKING:
    import torch

#: Frames decoded at once for a backward pass (they are read forward, then handed in reversed).
BACKWARD_CHUNK = 16


def _binary(mask: np.ndarray) -> np.ndarray:
    return np.where(mask >= 128, 255, 0).astype(np.uint8)


def count_steps(keys: list[int], lo: int, hi: int, needed: Callable[[int], bool]) -> int:
    """How many times the tracker calls ``check`` for these anchors (each is one model step)."""
    steps = 0
    bounds: list[int | None] = [None, *keys, None]
    for p, q in pairwise(bounds):
        first, last = (lo if p is None else p + 1), (hi if q is None else q)
        if not any(needed(t) for t in range(first, last)):
            continue
        if p is not None and q is not None:
            steps += 2 * (last - first + 2)
        else:
            steps += last - first + 1
    return steps


class Sam2Tracker:
    """The :class:`~model_runtime.engines.segmenters.Tracker` on SAM 2.1 (CPU or GPU)."""

    name = "sam2"

    def __init__(self, folder: str | Path, device: str = "auto") -> None:
        self.folder, self.device = folder, device

    def track(self, flows, anchors, lo, hi, needed, check) -> Iterator[tuple[int, np.ndarray]]:
        # Only the pictures are used: SAM 2 finds the object itself, no optical flow is computed.
        sam = load_sam2(self.folder, self.device)
        return track_masks_sam2(sam, flows.frames, anchors, lo, hi, needed, check)


def track_masks_sam2(
    sam: Sam2,
    frames: FrameSource,
    anchors: Mapping[int, np.ndarray],
    lo: int,
    hi: int,
    needed: Callable[[int], bool] = lambda t: True,
    check: Callable[[], None] = lambda: None,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(t, mask)`` for every needed frame of ``[lo, hi)`` in order; anchors keep their own masks."""
    keys = sorted(k for k in anchors if lo <= k < hi)
    if not keys:
        raise ValueError("no anchor inside the range")
    passes = _Passes(sam, frames, {k: _binary(anchors[k]) for k in keys}, check)
    bounds: list[int | None] = [None, *keys, None]
    for p, q in pairwise(bounds):
        if p is not None and needed(p):
            yield p, passes.anchors[p]
        first, last = (lo if p is None else p + 1), (hi if q is None else q)
        if any(needed(t) for t in range(first, last)):
            yield from passes.interval(p, q, first, last, needed)


class _Passes:
    """The SAM 2 passes of one tracking run."""

    def __init__(
        self, sam: Sam2, frames: FrameSource, anchors: dict[int, np.ndarray], check: Callable[[], None]
    ) -> None:
        self.sam, self.frames, self.anchors, self.check = sam, frames, anchors, check
        self.width, self.height = frames.size
        config = sam.model.config
        # What SAM 2's memory looks back on: its mask memories and its object pointers.
        self.reach = max(int(config.num_maskmem), int(config.max_object_pointers_in_encoder)) + 1

    def mask(self, logits) -> np.ndarray:
        return np.where(self.sam.full_size(logits, self.height, self.width) > 0, 255, 0).astype(np.uint8)

    def interval(self, p: int | None, q: int | None, first: int, last: int, needed: Callable[[int], bool]):
        """Masks of the needed frames of ``[first, last)``, between anchors p and q (None: none there)."""
        if q is None:
            assert p is not None
            for t, logits in self.run(p, None, range(first, last)):
                if needed(t):
                    yield t, self.mask(logits)
            return
        back = dict(self.run(q, p, range(last - 1, first - 1, -1)))
        if p is None:
            yield from ((t, self.mask(back[t])) for t in range(first, last) if needed(t))
            return
        for t, logits in self.run(p, q, range(first, last)):
            if needed(t):
                near_q = (t - p) / (q - p)
                yield t, self.mask((1 - near_q) * logits + near_q * back[t])

    def run(self, start: int, other: int | None, order: range) -> Iterator[tuple[int, torch.Tensor]]:
        """One pass from anchor ``start`` through ``order`` (one direction), ``other`` also in memory."""
        sam, reverse = self.sam, order.step < 0
        session = sam.session(self.height, self.width)
        obj = session.obj_id_to_idx(1)
        for a in ([] if other is None else [other]) + [start]:
            self.check()
            session.add_mask_inputs(obj, a, self.mask_input(self.anchors[a]))
            session.obj_with_new_inputs = [1]
            sam.step(session, a, self.frames.read(a))
        memory = session.output_dict_per_obj[obj]["non_cond_frame_outputs"]
        for t, image in self.pictures(order):
            self.check()
            yield t, sam.step(session, t, image, reverse=reverse)
            memory.pop(t + self.reach if reverse else t - self.reach, None)

    def mask_input(self, mask: np.ndarray):
        import torch

        size = self.sam.size
        square = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA) >= 128
        return torch.from_numpy(square.astype(np.float32))[None, None]

    def pictures(self, order: range) -> Iterator[tuple[int, np.ndarray]]:
        """The frames of ``order``, decoded forward even when handed in backward (chunk by chunk)."""
        if not order:
            return
        if order.step > 0:
            yield from self.frames.iter_frames(order.start, order.stop)
            return
        top, bottom = order.start, order[-1]
        while top >= bottom:
            start = max(bottom, top - BACKWARD_CHUNK + 1)
            chunk = list(self.frames.iter_frames(start, top + 1))
            yield from reversed(chunk)
            top = start - 1
