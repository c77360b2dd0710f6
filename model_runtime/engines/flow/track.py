"""Mask tracking: masks painted on anchor frames carried through the clip, frame by frame.

Each step moves the mask to the neighbouring frame in one of these ways and keeps the one that moves
the object's own pixels onto the most similar colours in the next frame:

- *along the flow*: every pixel follows the dense flow; pixels that fail the forward-backward check
  were hidden in the previous frame (background appearing from behind the object) and are left out.
  Right for textured, deforming objects.
- *as a whole*: a translation found by masked template matching (around both "still" and the flow's
  guess), and that translation refined to an affine motion by ECC (at most 10 % change in scale,
  rotation or shear per frame). Right for plain, rigid objects, where dense flow inside the object
  follows the background instead.

Frames between two anchors get the masks carried from both; they are blended as signed distance
fields weighted by distance, so the shape morphs from one anchor's to the other's; a chain whose mask
area strays far from the anchors' (it lost the object) counts less. After every step the mask's edge is
re-decided by colour (see ``colour.py``). A mask corrected on any frame is simply one more anchor.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence

import cv2
import numpy as np

from model_runtime.engines.flow.chain import Side, identity_map, neighbour_flow, two_sided
from model_runtime.engines.flow.colour import colour_model, refine_mask
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.frames import FrameBlocks, sample_points

_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
#: The most an object's scale, rotation or shear may change between two frames (10 %).
_MAX_AFFINE_CHANGE = 0.1
#: How fast a chain's weight falls as its mask's area strays from the expected (× e^-3 at twice or half).
_AREA_TRUST = 3.0


class MaskCarrier:
    """State = the binary mask (uint8 0/255) of the current frame.

    Each step moves the mask, then re-decides its edge by the colours of the anchor the chain started
    from (object versus the background around it), so the errors of one step are not carried on.
    """

    def __init__(self, flows: ClipFlow, frames: FrameBlocks, anchors: Mapping[int, np.ndarray]) -> None:
        self.flows, self.frames, self.anchors = flows, frames, anchors
        self.grid = identity_map(flows.width, flows.height)
        self.models: dict[int, np.ndarray] = {}
        self.chain = -1  # the anchor being carried: chains run one at a time

    def start(self, anchor: int) -> np.ndarray:
        mask = np.where(self.anchors[anchor] >= 128, 255, 0).astype(np.uint8)
        if anchor not in self.models:
            self.models[anchor] = colour_model(self.frames.read(anchor), mask)
        self.chain = anchor
        return mask

    def read(self, anchor: int, t: int, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return state, np.ones(state.shape, bool)

    def advance(self, mask: np.ndarray, src: int, dst: int) -> np.ndarray:
        moved = self._move(mask, src, dst)
        return refine_mask(moved, self.frames.read(dst), self.models[self.chain])

    def _move(self, mask: np.ndarray, src: int, dst: int) -> np.ndarray:
        if not mask.any():
            return mask
        src_img, dst_img = self.frames.read(src), self.frames.read(dst)
        to_src = neighbour_flow(self.flows, src, dst)  # at the pixels of dst
        to_dst = neighbour_flow(self.flows, dst, src)  # at the pixels of src
        ys, xs = np.nonzero(mask)
        points = np.stack([xs, ys], axis=-1).astype(np.float32)
        colours = src_img[ys, xs].astype(np.float32)
        # Every candidate motion is judged on the same pixels: the object in src, moved into dst.
        best: tuple[float, np.ndarray | None] = (_mismatch(dst_img, points + to_dst[ys, xs], colours), None)
        for motion in self._whole_motions(mask, src_img, dst_img, np.median(to_dst[ys, xs], axis=0)):
            moved = points @ motion[:, :2].T + motion[:, 2]
            best = min(best, (_mismatch(dst_img, moved, colours), motion), key=lambda c: c[0])
        if best[1] is None:
            return self._along_flow(mask, self.grid + to_src, to_src, to_dst)
        size = (mask.shape[1], mask.shape[0])
        moved_mask = cv2.warpAffine(mask, best[1], size, flags=cv2.INTER_LINEAR)
        return np.where(moved_mask >= 128, 255, 0).astype(np.uint8)

    def _along_flow(
        self, mask: np.ndarray, pos: np.ndarray, to_src: np.ndarray, to_dst: np.ndarray
    ) -> np.ndarray:
        carried = cv2.remap(mask.astype(np.float32), pos, None, cv2.INTER_LINEAR, borderValue=0)
        round_trip = cv2.remap(to_dst, pos, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error = np.linalg.norm(to_src + round_trip, axis=2)
        scale = np.linalg.norm(to_src, axis=2) + np.linalg.norm(round_trip, axis=2)
        carried[error > 0.5 + 0.05 * scale] = 0  # hidden in src: it appears from behind the object
        binary = (carried >= 127.5).astype(np.uint8)
        return cv2.morphologyEx(binary, cv2.MORPH_CLOSE, _CLOSE) * 255

    def _whole_motions(
        self, mask: np.ndarray, src_img: np.ndarray, dst_img: np.ndarray, guess: np.ndarray
    ) -> list[np.ndarray]:
        """Motions of the whole object src → dst as full-resolution 2×3 affine matrices: a translation
        found by masked template matching and, from it, an affine motion refined by ECC."""
        size = self.flows.work_size
        small = [cv2.resize(img, size, interpolation=cv2.INTER_AREA) for img in (src_img, dst_img)]
        m = cv2.resize(mask, size, interpolation=cv2.INTER_AREA) >= 128
        sx, sy = self.flows.scale
        shift = _match_shift(m, small[0], small[1], (guess[0] / sx, guess[1] / sy))
        if shift is None:
            return []
        motions = [np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)]
        affine = _refine_affine(m, small[0], small[1], motions[0])
        if affine is not None:
            motions.append(affine)
        return [_to_full(a, sx, sy) for a in motions]


def _match_shift(
    m: np.ndarray, src: np.ndarray, dst: np.ndarray, guess: tuple[float, float]
) -> tuple[float, float] | None:
    """Translation of the masked object from src to dst by template matching near ``guess``."""
    ys, xs = np.nonzero(m)
    if len(ys) < 4:
        return None
    h, w = m.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # Search around both "not moving" and the flow's guess, which plain objects make unreliable.
    gx, gy = round(guess[0]), round(guess[1])
    radius = max(8, (max(x1 - x0, y1 - y0) + 4) // 5)
    wx0, wy0 = max(0, x0 + min(0, gx) - radius), max(0, y0 + min(0, gy) - radius)
    wx1, wy1 = min(w, x1 + max(0, gx) + radius), min(h, y1 + max(0, gy) + radius)
    if wx1 - wx0 <= x1 - x0 or wy1 - wy0 <= y1 - y0:
        return None
    tmask = np.repeat(m[y0:y1, x0:x1, None], 3, axis=2).astype(np.uint8)
    scores = cv2.matchTemplate(dst[wy0:wy1, wx0:wx1], src[y0:y1, x0:x1], cv2.TM_SQDIFF, mask=tmask)
    _, _, (bx, by), _ = cv2.minMaxLoc(scores)
    dx = wx0 + bx + _parabola(scores[by, max(bx - 1, 0) : bx + 2], bx > 0) - x0
    dy = wy0 + by + _parabola(scores[max(by - 1, 0) : by + 2, bx], by > 0) - y0
    return float(dx), float(dy)


def _refine_affine(m: np.ndarray, src: np.ndarray, dst: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """ECC alignment of the masked object (grey), starting from ``start``; None when it fails."""
    ys, xs = np.nonzero(m)
    pad = 8 + int(np.abs(start[:, 2]).max())
    h, w = m.shape
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    grey = [cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY) for img in (src, dst)]
    if min(grey[0].shape) < 8:
        return None
    warp = start.copy()  # a translation is the same in crop coordinates
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4)
    try:
        _, warp = cv2.findTransformECC(
            grey[0], grey[1], warp, cv2.MOTION_AFFINE, criteria, m[y0:y1, x0:x1].astype(np.uint8), 3
        )
    except cv2.error:  # "images uncorrelated", no convergence: a plain object, keep the translation
        return None
    if np.abs(warp[:, :2] - np.eye(2)).max() > _MAX_AFFINE_CHANGE:
        return None  # inside a plain object ECC may shrink or shear it freely: not a real motion
    # Back from crop to frame coordinates: x' = L (x - o) + t + o.
    o = np.array([x0, y0], np.float32)
    warp[:, 2] = warp[:, 2] + o - warp[:, :2] @ o
    return warp


def _to_full(a: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """A working-resolution affine motion in full-resolution pixels (pixel centres kept aligned)."""
    s = np.array([sx, sy], np.float32)
    c = 0.5 / s - 0.5  # x_work = x_full / s + c
    lin = a[:, :2] * s[:, None] / s[None, :]
    shift = s * (a[:, :2] @ c + a[:, 2] - c)
    return np.hstack([lin, shift[:, None]]).astype(np.float32)


def _parabola(values: np.ndarray, has_left: bool) -> float:
    """Sub-pixel offset of a minimum from its two neighbours (0 at the edge of the search)."""
    if not has_left or len(values) < 3:
        return 0.0
    a, b, c = (float(v) for v in values)
    den = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den > 0 else 0.0


def _mismatch(target: np.ndarray, points: np.ndarray, colours: np.ndarray) -> float:
    """Mean absolute difference between ``colours`` and ``target`` read at ``points`` (M, 2)."""
    seen = sample_points(target, points, cv2.BORDER_REFLECT)
    return float(np.abs(seen.astype(np.float32) - colours).mean())


def blend_masks(sides: Sequence[Side]) -> np.ndarray:
    """Morph between the masks of the sides: weighted signed distances, thresholded at zero.

    Distances are clipped to a few pixels, so where the two masks disagree entirely (one chain lost the
    object) the vote is by weight, and only near agreeing edges does the shape morph.
    """
    if len(sides) == 1:
        return np.where(sides[0].values >= 128, 255, 0).astype(np.uint8)
    reach = max(4.0, max(sides[0].values.shape) / 100.0)
    total = np.zeros(sides[0].values.shape, np.float32)
    for side in sides:
        total += np.clip(_signed_distance(side.values >= 128), -reach, reach) * side.weight
    return np.where(total > 0, 255, 0).astype(np.uint8)


def _signed_distance(region: np.ndarray) -> np.ndarray:
    """Positive inside ``region``, negative outside: distance to its edge (bounded by the frame)."""
    bound = float(sum(region.shape))
    if not region.any():
        return np.full(region.shape, -bound, np.float32)
    if region.all():
        return np.full(region.shape, bound, np.float32)
    inside = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, 3)
    return inside - outside


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
    """
    carrier = MaskCarrier(flows, FrameBlocks(flows.frames), anchors)
    keys = sorted(k for k in anchors if lo <= k < hi)
    areas = {k: float((anchors[k] >= 128).sum()) for k in keys}
    for t, sides in two_sided(carrier, list(anchors), lo, hi, needed, check):
        if t in anchors:
            yield t, anchors[t].copy()
            continue
        if len(sides) == 2:
            i = bisect.bisect_left(keys, t)
            p, q = keys[i - 1], keys[i]
            _trust_by_area(sides, (areas[p] * (q - t) + areas[q] * (t - p)) / (q - p))
        yield t, blend_masks(sides)


def _trust_by_area(sides: Sequence[Side], expected: float) -> None:
    """Lower the weight of a side whose area strays from the anchors' (interpolated): a chain that lost
    the object shrinks or spills, and two chains that disagree entirely would otherwise cancel out."""
    for side in sides:
        ratio = (float((side.values >= 128).sum()) + 1.0) / (expected + 1.0)
        side.weight *= float(np.exp(-_AREA_TRUST * abs(np.log(ratio))))
