"""Carrying anchor frames through a clip, forward and backward, one frame at a time.

A :class:`Carrier` knows how to start from an anchor frame, step its state one frame along the flow,
and read out values for a frame. :func:`two_sided` runs it from every anchor towards its neighbours and
hands each frame the values of its nearest anchor before and after, with weights by distance (the
nearer anchor counts more); mask tracking and keyframe propagation blend those in their own way.

:class:`CoordinateCarrier` keeps a *coordinate map*: where each pixel of the current frame was in the
anchor frame. Stepping remaps the map, and the anchor's pixels are read once from the final map, so
long chains may drift a little but never blur.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from model_runtime.cvtyped import decode, remap_points
from model_runtime.engines.flow.flow import ClipFlow

#: Coordinates of pixels whose chain left the picture (any value far outside the frame works).
_OUTSIDE = -1.0e5


class Carrier(Protocol):
    """How one kind of content travels from an anchor frame to its neighbours."""

    def start(self, anchor: int) -> Any: ...

    def advance(self, state: Any, src: int, dst: int) -> Any:
        """The state of neighbour frame ``dst`` from that of frame ``src`` (``|dst - src| == 1``)."""

    def read(self, anchor: int, t: int, state: Any) -> tuple[np.ndarray, np.ndarray]:
        """(values uint8 (H, W) or (H, W, C), valid bool (H, W)) of frame ``t``."""


@dataclass
class Side:
    """One anchor's contribution to a frame."""

    values: np.ndarray
    valid: np.ndarray
    weight: float


class _Packed:
    """Values of one frame kept losslessly and compactly (PNG in memory) until they are blended."""

    def __init__(self, values: np.ndarray, valid: np.ndarray) -> None:
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
        self.values = cv2.imencode(".png", values, params)[1]
        self.valid = cv2.imencode(".png", valid.astype(np.uint8), params)[1]

    def unpack(self, weight: float) -> Side:
        return Side(decode(self.values), decode(self.valid) > 0, weight)


def two_sided(
    carrier: Carrier,
    anchors: Sequence[int],
    lo: int,
    hi: int,
    needed: Callable[[int], bool],
    check: Callable[[], None] | None = None,
) -> Iterator[tuple[int, list[Side]]]:
    """``(t, sides)`` for every needed frame ``t`` in ``[lo, hi)``, in order.

    An anchor frame gets one side (itself). Other frames get the anchor before them carried forward and
    the one after carried backward, weighted by the distance to the *other* anchor.
    """
    check = check or (lambda: None)
    keys = sorted({k for k in anchors if lo <= k < hi})
    if not keys:
        raise ValueError("no anchor inside the range")
    bounds = [lo - 1, *keys, hi]
    for p, q in itertools.pairwise(bounds):
        if p >= lo and needed(p):
            yield p, [Side(*carrier.read(p, p, carrier.start(p)), 1.0)]
        inner = [t for t in range(p + 1, q) if needed(t)]
        if not inner:
            continue
        # The backward chain from q is stored first, then the forward chain from p meets it frame by frame.
        back: dict[int, _Packed] = {}
        if q < hi:
            state, src = carrier.start(q), q
            for t in range(q - 1, inner[0] - 1, -1):
                check()
                state, src = carrier.advance(state, src, t), t
                if needed(t):
                    back[t] = _Packed(*carrier.read(q, t, state))
        if p >= lo:
            state, src = carrier.start(p), p
            for t in range(p + 1, inner[-1] + 1):
                check()
                state, src = carrier.advance(state, src, t), t
                if needed(t):
                    fwd = Side(*carrier.read(p, t, state), float(q - t))
                    packed = back.pop(t, None)
                    yield t, [fwd] if packed is None else [fwd, packed.unpack(float(t - p))]
        for t in sorted(back):  # before the first anchor: only the backward chain reaches it
            yield t, [back.pop(t).unpack(1.0)]


def identity_map(width: int, height: int) -> np.ndarray:
    """The coordinate map of a frame onto itself, float32 (H, W, 2) holding (x, y)."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.dstack([xs, ys])


def inside(coords: np.ndarray) -> np.ndarray:
    """Pixels whose coordinates still fall in the picture."""
    h, w = coords.shape[:2]
    x, y = coords[..., 0], coords[..., 1]
    return (x > -0.5) & (x < w - 0.5) & (y > -0.5) & (y < h - 0.5)


def neighbour_flow(flows: ClipFlow, src: int, dst: int) -> np.ndarray:
    """Full-resolution flow from the pixels of ``dst`` to where they are in ``src`` (a neighbour)."""
    return flows.to_full(flows.backward(src) if dst > src else flows.forward(dst))


class CoordinateCarrier:
    """Carries anchor images: state = coordinate map into the anchor; read = the image sampled there.

    ``images[anchor]`` is the picture to carry; ``area(t)`` limits where frame ``t`` takes it.
    """

    def __init__(
        self, flows: ClipFlow, images: dict[int, np.ndarray], area: Callable[[int], np.ndarray]
    ) -> None:
        self.flows, self.images, self.area = flows, images, area
        self.grid = identity_map(flows.width, flows.height)

    def start(self, anchor: int) -> np.ndarray:
        return self.grid

    def advance(self, state: np.ndarray, src: int, dst: int) -> np.ndarray:
        flow = neighbour_flow(self.flows, src, dst)
        return remap_points(state, self.grid + flow, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT, (_OUTSIDE,) * 4)

    def read(self, anchor: int, t: int, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        where = self.area(t) & inside(state)
        values = remap_points(self.images[anchor], state, cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
        values[~where] = 0  # only the area is kept: it packs small while it waits to be blended
        return values, where


def weighted_mean(sides: Sequence[Side]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean of the valid sides by weight: (float32 (H, W, C), any-valid bool (H, W))."""
    total: np.ndarray | None = None
    weight = np.zeros(sides[0].valid.shape, np.float32)
    for side in sides:
        values = side.values if side.values.ndim == 3 else side.values[..., None]
        w = side.valid.astype(np.float32) * side.weight
        part = values.astype(np.float32) * w[..., None]
        total = part if total is None else total + part
        weight += w
    assert total is not None
    ok = weight > 0
    total[ok] /= weight[ok][:, None]
    return total, ok
