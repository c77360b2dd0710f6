"""Deletion: fill each masked pixel from the frames where that part of the scene is visible.

The flow inside a hole follows the object being removed, not the background behind it, so it is first
*completed* from the flow around the hole (:func:`complete_flow`). Then two passes, one forward and one
backward in time, chain every hole pixel frame to frame until it lands on a pixel that is visible in
some frame; the pass remembers *where* (frame and sub-pixel position), so the colour is read once from
that frame and long chains do not blur. Each hole pixel takes the colours found in both directions,
weighted by how far in time they are. What no frame shows is taken from the previous finished frame
along the flow (so it stays steady in time), and failing that, inpainted from its surroundings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from model_runtime.engines.flow.blend import blend_fill, hole_edges
from model_runtime.engines.flow.completion import complete_flow
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.frames import sample_points
from model_runtime.engines.flow.masks import grow
from model_runtime.engines.flow.texture import exemplar_fill

#: How far a hole is grown before its flow is completed, as a fraction of the working resolution's long
#: side (30 px at 480). DIS smears a moving object's motion far into the background around it (its
#: coarse pyramid levels see both), and a bias of even a twentieth of a pixel there adds up along a
#: chain of frames. Measured on the bmx-trees background with a synthetic moving object (PSNR in the
#: hole): grown 10 px → 24 dB, 20 px → 28–29 dB, 30 px → 29–30 dB, 45 px → 29 dB.
FLOW_HOLE_GROW = 1 / 16
#: At most this share of the frame may be hole once grown: the completion fits the background's motion
#: around the hole, so a dense set of holes (a grid of squares) grows less, down to 4 px, to leave some.
FLOW_HOLE_SHARE = 0.5


#: A hole at the flows' working size: grown for the completion, and grown by one pixel.
WorkHole = tuple[np.ndarray, np.ndarray]


def work_hole(flows: ClipFlow, area: np.ndarray) -> WorkHole:
    """A frame's hole (full-size boolean ``area``) at the flows' working resolution: grown by
    :data:`FLOW_HOLE_GROW` (where the flow is completed; less where that would cover more than
    :data:`FLOW_HOLE_SHARE` of the frame), and grown by one pixel (the working pixels
    that sampling the flow at the hole's own pixels reads). One resize for both."""
    small = flows.hole_to_work(area, 0)
    pixels = max(4, round(max(flows.work_size) * FLOW_HOLE_GROW))
    hole = grow(small, pixels)
    while pixels > 4 and hole.mean() > FLOW_HOLE_SHARE:  # leave the completion a ring to fit
        pixels = max(4, pixels // 2)
        hole = grow(small, pixels)
    return hole, grow(small, 1)


@dataclass
class _Hits:
    """Per hole pixel of one frame: the frame (chunk index, -1 = none) and position it was found at."""

    src: np.ndarray
    xy: np.ndarray


@dataclass
class _Gathered:
    """One frame after the reads: the found colours in place, and the hole's edge for the blend."""

    out: np.ndarray
    done: np.ndarray | None = None  # hole pixels some frame showed (None: no hole)
    edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    beside: np.ndarray | None = None
    beside_w: np.ndarray | None = None


class DeletionFill:
    """Temporal fill of the holes ``areas[i]`` in ``frames[i]`` (frames ``lo + i`` of the clip).

    ``frames``: uint8 (N, H, W, 3); ``areas``: N boolean (H, W) maps of the pixels to fill. Both may be
    a crop of the clip's frames whose top-left corner is ``origin`` (x, y): everything is computed in
    the crop, the flows are read at the matching place of the whole frame. ``holes``: the frames'
    :func:`work_hole` when the caller made them already (e.g. on a thread while the flows were computed).
    """

    def __init__(
        self,
        flows: ClipFlow,
        frames: np.ndarray,
        areas: Sequence[np.ndarray],
        lo: int,
        check: Callable[[], None] | None = None,
        seamless: bool = True,
        origin: tuple[int, int] = (0, 0),
        holes: Sequence[WorkHole] | None = None,
    ) -> None:
        self.flows, self.frames, self.areas, self.lo = flows, frames, areas, lo
        self.origin = origin
        self.check = check or (lambda: None)
        self.seamless = seamless
        self.height, self.width = frames.shape[1:3]
        self._pixels = [np.nonzero(a) for a in areas]
        self._holes: dict[int, WorkHole] = dict(enumerate(holes or ()))
        self._to_prev: dict[int, np.ndarray] = {}  # the forward pass's completed flows, for _flow_at
        self._near_hole: list[np.ndarray] | None = None
        #: Run the forward and backward passes on two threads (same result).
        self.parallel = False

    def _flow_hole(self, i: int) -> WorkHole:
        """Chunk frame ``i``'s hole at working resolution, grown, and the working pixels that sampling
        the flow at the hole's own pixels reads (both passes use them: kept)."""
        if i not in self._holes:
            area = self.areas[i]
            if area.shape != (self.flows.height, self.flows.width):
                (x, y), (h, w) = self.origin, area.shape
                area = np.zeros((self.flows.height, self.flows.width), bool)
                area[y : y + h, x : x + w] = self.areas[i]
            self._holes[i] = work_hole(self.flows, area)
        return self._holes[i]

    def _hole_flow(self, i: int, to_prev: bool) -> np.ndarray:
        """Completed flow from chunk frame ``i`` to its neighbour, at its hole pixels, (M, 2) full-res."""
        if to_prev and i in self._to_prev:
            return self._to_prev[i]
        t = self.lo + i
        raw = self.flows.backward(t - 1) if to_prev else self.flows.forward(t)
        flow = complete_flow(raw, *self._flow_hole(i))
        ys, xs = self._pixels[i]
        sx, sy = self.flows.scale
        x, y = self.origin
        pos = np.stack([(xs + x + 0.5) / sx - 0.5, (ys + y + 0.5) / sy - 0.5], axis=-1)
        done = sample_points(flow, pos) * np.array([sx, sy], np.float32)
        if to_prev:
            self._to_prev[i] = done
        return done

    def _pass(self, order: Sequence[int], to_prev: bool) -> dict[int, _Hits]:
        """Chain hole pixels through ``order`` (consecutive chunk indices)."""
        hits: dict[int, _Hits] = {}
        size = self.height * self.width
        # Where a pixel of the previous frame sits in that frame's hole list (-1: a visible pixel; the
        # extra last entry, -2, stands for every place outside the frame). Only the entries of the last
        # hole are ever set, so resetting them keeps each step O(hole size).
        slot = np.full(size + 1, -1, np.int32)
        slot[size] = -2
        prev: int | None = None
        for i in order:
            self.check()
            ys, xs = self._pixels[i]
            if prev is None or not len(ys):
                found, pos = np.full(len(ys), -1, np.int32), np.zeros((len(ys), 2), np.float32)
            else:
                p = np.stack([xs, ys], axis=-1).astype(np.float32) + self._hole_flow(i, to_prev)
                q = np.rint(p)
                qx, qy = q[:, 0].astype(np.int64), q[:, 1].astype(np.int64)
                inside = (qx >= 0) & (qx < self.width) & (qy >= 0) & (qy < self.height)
                j = slot[np.where(inside, qy * self.width + qx, size)]
                chained, at = j >= 0, np.maximum(j, 0)
                before = hits[prev]
                if not len(before.src):  # nothing to chain to: every landing is visible or outside
                    before = _Hits(np.full(1, -1, np.int32), np.zeros((1, 2), np.float32))
                # Nearest neighbour plus the sub-pixel offset: exact for locally translating content,
                # and it never mixes two sources across the edge of what was found.
                landed = np.where(j == -1, prev, -1).astype(np.int32)
                found = np.where(chained, before.src[at], landed)
                pos = np.where(chained[:, None], before.xy[at] + (p - q), p)
            hits[i] = _Hits(found, pos)
            if prev is not None:
                slot[self._flat(prev)] = -1
            slot[self._flat(i)] = np.arange(len(ys), dtype=np.int32)
            prev = i
        return hits

    def _flat(self, i: int) -> np.ndarray:
        ys, xs = self._pixels[i]
        return ys * self.width + xs

    def run(
        self, todo: Sequence[int], previous: Callable[[int], np.ndarray | None]
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(i, filled frame)`` for chunk indices ``todo`` in ascending order.

        ``previous(i)`` returns the finished output of chunk frame ``i - 1`` (or None): it fills what no
        frame shows, so those pixels stay consistent from frame to frame.
        """
        n = len(self.areas)
        if self.parallel:  # the passes are independent: the backward one on a second thread
            for i in range(n):
                if len(self._pixels[i][0]):
                    self._flow_hole(i)  # made once here, before both threads read them
            with ThreadPoolExecutor(1, "flow-fill") as pool:
                later = pool.submit(self._pass, range(n - 1, -1, -1), False)
                forward = self._pass(range(n), to_prev=True)
                backward = later.result()
        else:
            forward = self._pass(range(n), to_prev=True)
            backward = self._pass(range(n - 1, -1, -1), to_prev=False)
        order = sorted(todo)
        if not self.parallel:
            for i in order:
                self.check()
                yield i, self._complete(i, self._gather(i, forward[i], backward[i]), previous)
            return
        # The reads of the next frame (no need of this one's result) go on while this one completes.
        with ThreadPoolExecutor(1, "flow-fill") as pool:
            ahead = [pool.submit(self._gather, i, forward[i], backward[i]) for i in order[:1]]
            for k, i in enumerate(order):
                self.check()
                gathered = ahead.pop().result()
                if k + 1 < len(order):
                    j = order[k + 1]
                    ahead.append(pool.submit(self._gather, j, forward[j], backward[j]))
                yield i, self._complete(i, gathered, previous)

    def _gather(self, i: int, fwd: _Hits, bwd: _Hits) -> _Gathered:
        """Frame ``i`` with the colours found in other frames, and what the seam blend needs."""
        out = self.frames[i].copy()
        ys, xs = self._pixels[i]
        if not len(ys):
            return _Gathered(out)
        # The hole's edge: a hole pixel k and its neighbour outside the hole (ey, ex). The copy is read
        # there too (one pixel further in its source), so the blend compares like with like.
        k, ey, ex = hole_edges(self.areas[i], ys, xs)
        step = np.stack([ex - xs[k], ey - ys[k]], axis=-1).astype(np.float32)
        # Every read of both directions at once: the colour at each found position, and for the
        # edge's pixels the copy one pixel further out. ``into``: where each read adds (hole pixels,
        # then edge pairs after them); ``w``: the nearer frame counts more.
        src, xy, into = [], [], []
        for hits in (fwd, bwd):
            ok = np.flatnonzero(hits.src >= 0)
            edge = np.flatnonzero(hits.src[k] >= 0)
            at = np.concatenate([ok, k[edge]])
            src.append(hits.src[at])
            xy.append(np.concatenate([hits.xy[ok], hits.xy[k[edge]] + step[edge]]))
            into.append(np.concatenate([ok, len(ys) + edge]))
        src_all = np.concatenate(src)
        values, near = self._read(src_all, np.concatenate(xy))
        w = 1.0 / np.maximum(np.abs(src_all - i), 1).astype(np.float32)
        target = np.concatenate(into)
        w[(target >= len(ys)) & near] = 0  # a neighbour in its source's own hole tells nothing
        size = len(ys) + len(k)
        weights = np.bincount(target, w, minlength=size).astype(np.float32)
        sums: np.ndarray = np.stack(
            [np.bincount(target, values[:, c] * w, minlength=size) for c in range(3)], axis=-1
        )
        sums = sums.astype(np.float32)  # (bincount gives integers when there is nothing to count)
        total, weight = sums[: len(ys)], weights[: len(ys)]
        beside, beside_w = sums[len(ys) :], weights[len(ys) :]
        done = weight > 0
        out[ys[done], xs[done]] = np.clip(np.rint(total[done] / weight[done, None]), 0, 255).astype(np.uint8)
        return _Gathered(out, done, (k, ey, ex), beside, beside_w)

    def _complete(self, i: int, g: _Gathered, previous: Callable[[int], np.ndarray | None]) -> np.ndarray:
        """Frame ``i`` finished: what no frame shows (from ``previous``), then the seam blend."""
        out, done = g.out, g.done
        if done is None:
            return out
        ys, xs = self._pixels[i]
        if not done.all():
            self._fill_unseen(i, out, ys[~done], xs[~done], previous)
        if not self.seamless:
            return out
        assert g.edges is not None and g.beside is not None and g.beside_w is not None
        (k, ey, ex), beside, beside_w = g.edges, g.beside, g.beside_w
        # Where no source read the edge neighbour (or the pixel was made up here), the pixel itself.
        read = beside_w > 0
        beside[read] /= beside_w[read, None]
        beside[~read] = out[ys[k[~read]], xs[k[~read]]]
        return blend_fill(out, (ys, xs), (ey, ex), self.frames[i][ey, ex] - beside)

    def _read(self, src: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bilinear colours (M, 3) float32 of chunk frames ``src`` at positions ``xy``, and whether each
        position's nearest pixel lies in (or beside) its frame's own hole.

        The points are grouped by source frame and read with ``cv2.remap`` (1/32 px): one call per
        source frame instead of gathers from the whole stack, which cost most of a deletion's time.
        """
        if self._near_hole is None:
            kernel = np.ones((3, 3), np.uint8)
            self._near_hole = [cv2.dilate(a.astype(np.uint8), kernel) for a in self.areas]
        m = len(src)
        values = np.empty((m, 3), np.float32)
        near = np.empty(m, bool)
        if not m:
            return values, near
        small = src.astype(np.int16) if len(self.areas) <= 32767 else src  # int16: numpy's radix sort
        order = np.argsort(small, kind="stable")
        ordered = src[order]
        cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        points = xy[order]
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, m], strict=True):
            s, at = ordered[a], points[a:b]
            values[order[a:b]] = sample_points(self.frames[s], at)
            near[order[a:b]] = sample_points(self._near_hole[s], at, interpolation=cv2.INTER_NEAREST) > 0
        return values, near

    def _fill_unseen(
        self,
        i: int,
        out: np.ndarray,
        ys: np.ndarray,
        xs: np.ndarray,
        previous: Callable[[int], np.ndarray | None],
    ) -> None:
        """Fill what no frame shows, in place: along the flow from the previous finished frame (steady in
        time), else with texture copied from nearby."""
        prev = previous(i)
        if prev is not None and self.lo + i > 0:
            p = np.stack([xs, ys], axis=-1) + self._flow_at(i, ys, xs)
            ok = (
                (p[:, 0] > -0.5)
                & (p[:, 0] < self.width - 0.5)
                & (p[:, 1] > -0.5)
                & (p[:, 1] < self.height - 0.5)
            )
            if ok.any():
                out[ys[ok], xs[ok]] = sample_points(prev, p[ok])
            ys, xs = ys[~ok], xs[~ok]
        if not len(ys):
            return
        todo: np.ndarray = np.zeros(out.shape[:2], bool)
        todo[ys, xs] = True
        offsets = exemplar_fill(out, todo, self.areas[i])
        if offsets is None:  # no room to search (a hole over most of the frame): smooth inpainting
            out[:] = cv2.inpaint(out, todo.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
            return
        ys, xs = np.nonzero(todo)  # the order exemplar_fill's offsets are in
        out[ys, xs] = out[ys + offsets[:, 0], xs + offsets[:, 1]]

    def _flow_at(self, i: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Completed flow from chunk frame ``i`` to the previous frame at the given hole pixels."""
        all_ys, all_xs = self._pixels[i]
        flow = self._hole_flow(i, to_prev=True)
        index = np.full((self.height, self.width), -1, np.int64)
        index[all_ys, all_xs] = np.arange(len(all_ys))
        return flow[index[ys, xs]]
