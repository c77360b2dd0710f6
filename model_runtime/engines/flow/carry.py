"""Keyframe propagation for add / modify (KIVE with the classical engine).

The edited keyframes' pixels are carried along the source's flow into every other frame, inside that
frame's edit area only, and blended between the nearest keyframes before and after by distance. The
flow is the raw one: what the mask covers in the source (the entity to modify, or the surface an entity
is added onto) is exactly what the new pixels must move with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from model_runtime.engines.flow.chain import CoordinateCarrier, two_sided, weighted_mean
from model_runtime.engines.flow.flow import ClipFlow


def carry_keyframes(
    flows: ClipFlow,
    keyframes: Mapping[int, np.ndarray],
    area: Callable[[int], np.ndarray],
    lo: int,
    hi: int,
    needed: Callable[[int], bool] = lambda t: True,
    check: Callable[[], None] | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(t, carried RGB uint8, valid)`` for every needed frame in ``[lo, hi)``, in order.

    ``area(t)`` is the boolean map of pixels of frame ``t`` that may change; ``valid`` is False outside
    it and where no keyframe reaches (the caller keeps the source there).
    """
    carrier = CoordinateCarrier(flows, dict(keyframes), area)
    for t, sides in two_sided(carrier, list(keyframes), lo, hi, needed, check):
        values, valid = weighted_mean(sides)
        yield t, np.clip(np.rint(values), 0, 255).astype(np.uint8), valid
