"""Mask tracking: anchor masks carried through the clip, re-segmented on every frame.

The state of a chain is the object's *probability* at the flow's working resolution. One step to the
neighbouring frame:

1. the probability moves along the dense flow (bilinear, so edges become uncertain); pixels that fail the
   forward-backward check near the object were hidden in the previous frame (background appearing from
   behind the object, or the object coming out from behind something) and get an unknown prior (½); a
   small share of the anchor's own shape, moved by the object's overall motion since the anchor, is mixed
   in (:mod:`~model_runtime.engines.flow.shape`), so parts the flow lost can come back;
2. the frame is segmented in a band around that prior (:mod:`~model_runtime.engines.flow.segment`): the
   prior's log-odds plus the colour evidence of the chain's own anchor (object versus the background
   around it), snapped to the picture's edges. Thin parts the flow left behind come back where their
   colour says so; background the flow dragged along goes.

Frames between two anchors run both chains over the whole interval. Each chain's miss at the *other*
anchor — what it masked that the anchor does not (an erased region) and what it missed (an added one) —
is carried back along the flow as a correction of that chain, strongest near that anchor. The two
corrected chains are blended as log-odds weighted by distance. So a corrected frame is an anchor whose
erased and added regions its neighbours respect both ways, and an interval depends on its two anchors
only: re-tracking after a correction changes the frames between the neighbouring anchors and no others.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping

import cv2
import numpy as np

from model_runtime.cvtyped import remap_points
from model_runtime.engines.flow.chain import identity_map
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.frames import FrameBlocks
from model_runtime.engines.flow.segment import MAX_LOGIT, ColourModel, logit, segment
from model_runtime.engines.flow.shape import ShapePrior

#: How far (Gaussian sigma, working pixels) the moved prior is softened: an edge's per-step uncertainty.
_PRIOR_SIGMA = 1.0
_SQUARE3 = np.ones((3, 3), np.uint8)  # OpenCV's own kernel when given none
#: Log-odds of a correction carried from the other anchor at full strength.
_CORRECTION = 2 * MAX_LOGIT


#: The flow preset of a tracking job when its settings name none: on the tracking benchmark "fine" flows
#: raise J by 0.02–0.04 with anchors every 10 or 20 frames on both clips (thin and small parts move right).
TRACK_FLOW_PRESET = "fine"

#: Log-odds against a pixel whose motion differs from the object's by far more than the object's own spread.
MOTION_WEIGHT = 3.0


def _motion_evidence(flow: np.ndarray, prior: np.ndarray) -> np.ndarray | None:
    """Negative evidence where a pixel moves unlike the object (a neighbour walking past it)."""
    core = prior > 0.9
    if core.sum() < 16:
        return None
    obj = flow[core]
    centre = np.median(obj, axis=0)
    spread = np.median(np.linalg.norm(obj - centre, axis=1))
    tol = max(1.0, 3.0 * float(spread))
    off = np.linalg.norm(flow - centre, axis=2)
    off[prior >= 0.5] = 0.0  # only growth is judged: the object's own parts may move unlike its centre
    return -MOTION_WEIGHT * np.clip((off - tol) / tol, 0.0, 1.0).astype(np.float32)


Box = tuple[slice, slice]


def _bbox(region: np.ndarray, pad: int = 0) -> Box | None:
    """The bounding box of ``region`` grown by ``pad`` (clipped to the frame), or None when empty."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if not len(rows):
        return None
    h, w = region.shape
    return (
        slice(max(0, rows[0] - pad), min(h, rows[-1] + pad + 1)),
        slice(max(0, cols[0] - pad), min(w, cols[-1] + pad + 1)),
    )


class _Sparse:
    """A field that is zero outside a small box, kept as that box (float16) while an interval runs."""

    def __init__(self, field: np.ndarray) -> None:
        self.shape = field.shape
        self.box = _bbox(np.abs(field) > 1e-3)
        self.crop = None if self.box is None else field[self.box].astype(np.float16)

    def full(self) -> np.ndarray:
        out = np.zeros(self.shape, np.float32)
        if self.box is not None:
            out[self.box] = self.crop
        return out


class MaskTracker:
    """Chains of object probability at the flow's working resolution, and their blend at full size."""

    def __init__(self, flows: ClipFlow, anchors: Mapping[int, np.ndarray]) -> None:
        self.flows, self.anchors = flows, anchors
        self.frames = FrameBlocks(flows.frames)
        self.work = flows.work_size
        self.grid = identity_map(*self.work)
        long_side = max(self.work)
        self.band = max(3, round(long_side / 80))
        self.ring = max(8, round(long_side / 14))
        self._small: OrderedDict[int, np.ndarray] = OrderedDict()
        self._models: dict[int, ColourModel] = {}
        self._flow_pairs: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def small(self, t: int) -> np.ndarray:
        """Frame ``t`` at the working resolution (kept a while)."""
        if t not in self._small:
            frame = self.frames.read(t)
            if (frame.shape[1], frame.shape[0]) != self.work:
                frame = cv2.resize(frame, self.work, interpolation=cv2.INTER_AREA)
            self._small[t] = frame
            if len(self._small) > 64:  # an interval's frames are read by both chains
                self._small.popitem(last=False)
        return self._small[t]

    def anchor_prob(self, a: int) -> np.ndarray:
        """The anchor's mask as a working-resolution probability."""
        m: np.ndarray = (self.anchors[a] >= 128).astype(np.float32)
        if (m.shape[1], m.shape[0]) != self.work:
            m = cv2.resize(m, self.work, interpolation=cv2.INTER_AREA)
        return m

    def model(self, a: int) -> ColourModel:
        if a not in self._models:
            self._models[a] = ColourModel(self.small(a), self.anchor_prob(a) >= 0.5, self.ring)
        return self._models[a]

    def _flows(self, src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
        """(flow at dst's pixels to src, flow at src's pixels to dst), working pixels."""
        key = (src, dst)
        if key not in self._flow_pairs:
            f = self.flows
            pair = (f.backward(src), f.forward(src)) if dst > src else (f.forward(dst), f.backward(dst))
            self._flow_pairs[key] = pair
            if len(self._flow_pairs) > 4:
                self._flow_pairs.popitem(last=False)
        return self._flow_pairs[key]

    def _warp(self, field: np.ndarray, src: int, dst: int) -> tuple[np.ndarray, np.ndarray, Box | None]:
        """``field`` of frame src moved to frame dst, dst's pixels hidden in src (bool), and the box of
        dst where that was worked out (None: the field is empty). Only that box is computed."""
        moved, hidden = np.zeros(field.shape, np.float32), np.zeros(field.shape, bool)
        box = _bbox(np.abs(field) > 0.02)
        if box is None:
            return moved, hidden, None
        to_src, to_dst = self._flows(src, dst)
        reach = float(cv2.magnitude(to_dst[box][..., 0], to_dst[box][..., 1]).max())
        box = _bbox(np.abs(field) > 0.02, int(np.ceil(reach)) + self.band + 2)
        assert box is not None
        t_src = to_src[box]
        pos = self.grid[box] + t_src
        moved[box] = remap_points(field, pos, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)
        back = remap_points(to_dst, pos, cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
        trip = t_src + back
        error = cv2.magnitude(trip[..., 0], trip[..., 1])
        scale = cv2.magnitude(t_src[..., 0], t_src[..., 1]) + cv2.magnitude(back[..., 0], back[..., 1])
        hidden[box] = error > 0.5 + 0.05 * scale
        return moved, hidden, box

    def step(
        self, prob: np.ndarray, src: int, dst: int, anchor: int, shape: ShapePrior | None = None
    ) -> np.ndarray:
        """The object probability of frame dst from that of its neighbour src (chain from ``anchor``;
        ``shape``: the chain's anchor shape, advanced to dst here)."""
        moved, hidden, box = self._warp(prob, src, dst)
        if shape is not None:
            shape.advance(prob, self._flows(src, dst)[1])
            moved = shape.blend(moved)
            box = _bbox(moved > 0.02, self.band + 2)
        out = np.zeros_like(prob)
        if box is None:
            return out
        prior = cv2.GaussianBlur(moved[box], (0, 0), _PRIOR_SIGMA)
        near = cv2.dilate((prior > 0.05).astype(np.uint8), _SQUARE3, iterations=self.band) > 0
        prior = np.where(hidden[box] & near, np.maximum(prior, 0.5), prior)
        extra = _motion_evidence(self._flows(src, dst)[0][box], prior) if MOTION_WEIGHT else None
        out[box] = segment(prior, self.small(dst)[box], self.model(anchor), self.band, extra=extra)
        return out

    def carry(self, field: np.ndarray, src: int, dst: int) -> np.ndarray:
        """A correction field moved along the flow; where dst was hidden in src it is dropped."""
        moved, hidden, _ = self._warp(field, src, dst)
        moved[hidden] = 0.0
        return moved

    def full_mask(self, score: np.ndarray) -> np.ndarray:
        """Log-odds at working resolution → uint8 0/255 mask at the clip's size."""
        size = (self.flows.width, self.flows.height)
        if size != self.work:
            score = cv2.resize(score, size, interpolation=cv2.INTER_LINEAR)
        return np.where(score > 0, 255, 0).astype(np.uint8)

    def chain(self, anchor: int, stop: int, check: Callable[[], None]) -> Iterator[tuple[int, np.ndarray]]:
        """(t, probability) from ``anchor`` towards ``stop`` (exclusive), one frame at a time."""
        prob, src = self.anchor_prob(anchor), anchor
        shape = ShapePrior(prob)
        direction = 1 if stop > anchor else -1
        for t in range(anchor + direction, stop, direction):
            check()
            prob, src = self.step(prob, src, t, anchor, shape), t
            yield t, prob

    def interval(
        self, p: int | None, q: int | None, frames: list[int], check: Callable[[], None]
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Masks of ``frames`` (in order) between anchors p and q (None: no anchor on that side)."""
        if p is None or q is None:
            anchor, stop = (q, frames[0] - 1) if p is None else (p, frames[-1] + 1)
            assert anchor is not None
            got = {
                t: self.full_mask(logit(prob)) for t, prob in self.chain(anchor, stop, check) if t in frames
            }
            yield from sorted(got.items())
            return
        fwd = {t: _Sparse(prob) for t, prob in self.chain(p, q + 1, check)}
        miss_q = self.anchor_prob(q) - (fwd[q].full() >= 0.5).astype(np.float32)
        back: dict[int, tuple[_Sparse, _Sparse]] = {}
        field = miss_q
        for t, prob in self.chain(q, p - 1, check):
            field = self.carry(field, t + 1, t)
            back[t] = (_Sparse(prob), _Sparse(field))
        miss_p = self.anchor_prob(p) - (back[p][0].full() >= 0.5).astype(np.float32)
        field = miss_p
        for t in range(p + 1, q):
            field = self.carry(field, t - 1, t)
            if t not in frames:
                continue
            near_q, near_p = (t - p) / (q - p), (q - t) / (q - p)
            f_score = logit(fwd[t].full()) + _CORRECTION * near_q * back[t][1].full()
            b_score = logit(back[t][0].full()) + _CORRECTION * near_p * field
            yield t, self.full_mask(near_p * f_score + near_q * b_score)


def track_masks(
    flows: ClipFlow,
    anchors: Mapping[int, np.ndarray],
    lo: int,
    hi: int,
    needed: Callable[[int], bool] = lambda t: True,
    check: Callable[[], None] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(t, mask)`` for every needed frame ``t`` in ``[lo, hi)``, in order; masks are uint8 0/255.

    ``anchors`` maps frame numbers to uint8 masks (255 = object); anchor frames get their own mask back.
    Only anchors inside ``[lo, hi)`` are used.
    """
    check = check or (lambda: None)
    keys = sorted(k for k in anchors if lo <= k < hi)
    if not keys:
        raise ValueError("no anchor inside the range")
    tracker = MaskTracker(flows, {k: anchors[k] for k in keys})
    bounds: list[int | None] = [None, *keys, None]
    for i in range(len(bounds) - 1):
        p, q = bounds[i], bounds[i + 1]
        if p is not None and needed(p):
            yield p, np.where(anchors[p] >= 128, 255, 0).astype(np.uint8)
        first = lo if p is None else p + 1
        last = hi if q is None else q
        frames = [t for t in range(first, last) if needed(t)]
        if frames:
            yield from tracker.interval(p, q, frames, check)
