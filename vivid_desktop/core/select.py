"""Click to select: positive/negative clicks and an optional box make an object mask (GrabCut, on CPU).

The classical counterpart of a promptable segmenter (SAM's clicks and box): a box bounds the object
(outside it is background); a positive click marks a disc of sure object, a negative one a disc of sure
background; without a box, the object is looked for in a region around the positive clicks. OpenCV's
GrabCut then learns colour models of both and cuts along the picture's edges. Large frames are segmented
in a crop, scaled to at most ``MAX_SIDE``, and the result is scaled back. The mask is a keyframe mask to
refine with the brush.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field

import cv2
import numpy as np

#: Long side of the picture GrabCut works on (it is about linear in pixels; this keeps a click < 0.5 s).
MAX_SIDE = 480
#: GrabCut iterations.
ITERATIONS = 4

Point = tuple[float, float]


@dataclass
class Prompt:
    """What the user gave: clicks in frame pixels (x, y) and a box (x0, y0, x1, y1), any may be empty."""

    positive: Sequence[Point] = field(default_factory=list)
    negative: Sequence[Point] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None


def select_object(image: np.ndarray, prompt: Prompt) -> np.ndarray:
    """The selected object's mask (uint8 0/255, the image's size) from an RGB frame and a prompt.

    Raises ``ValueError`` when the prompt holds neither a positive click nor a box.
    """
    if not prompt.positive and prompt.box is None:
        raise ValueError("click on the object (or draw a box around it) first")
    h, w = image.shape[:2]
    x0, y0, x1, y1 = _region(prompt, w, h)
    crop = image[y0:y1, x0:x1]
    scale = min(1.0, MAX_SIDE / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    labels = _labels(small.shape[:2], prompt, (x0, y0), scale)
    if not (labels == cv2.GC_PR_FGD).any() and not (labels == cv2.GC_FGD).any():
        return np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray(small[..., ::-1])
    # cv2.error: one side has too few pixels to learn from; the prompt's own guess is kept.
    with suppress(cv2.error):
        # OpenCV's stubs want a rect even in mask mode, where it is unused.
        cv2.grabCut(bgr, labels, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]
    obj = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8) * 255
    if scale < 1:
        obj = cv2.resize(obj, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((h, w), np.uint8)
    out[y0:y1, x0:x1] = np.where(obj >= 128, 255, 0)
    return _keep_clicked(out, prompt)


def _region(prompt: Prompt, w: int, h: int) -> tuple[int, int, int, int]:
    """The crop that is segmented: the box grown by a margin, or a square around the positive clicks."""
    if prompt.box is not None:
        bx0, by0, bx1, by1 = prompt.box
        m = 0.1 * max(bx1 - bx0, by1 - by0) + 8
    else:
        xs = [p[0] for p in prompt.positive]
        ys = [p[1] for p in prompt.positive]
        bx0, by0, bx1, by1 = min(xs), min(ys), max(xs), max(ys)
        m = 0.3 * max(w, h)
    return (
        int(max(0, bx0 - m)),
        int(max(0, by0 - m)),
        int(min(w, bx1 + m + 1)),
        int(min(h, by1 + m + 1)),
    )


def _labels(shape: tuple[int, int], prompt: Prompt, origin: tuple[int, int], scale: float) -> np.ndarray:
    """GrabCut's initial labels in crop pixels."""
    h, w = shape
    labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)

    def at(p: Point) -> tuple[int, int]:
        return round((p[0] - origin[0]) * scale), round((p[1] - origin[1]) * scale)

    if prompt.box is not None:
        labels[:] = cv2.GC_BGD
        x0, y0 = at(prompt.box[:2])
        x1, y1 = at(prompt.box[2:])
        labels[max(0, y0) : max(0, y1) + 1, max(0, x0) : max(0, x1) + 1] = cv2.GC_PR_FGD
    else:
        reach = max(4, round(0.12 * max(h, w)))  # the object is guessed to lie this close to a click
        for p in prompt.positive:
            cv2.circle(labels, at(p), reach, cv2.GC_PR_FGD, -1)
    dot = max(2, round(0.01 * max(h, w)))
    for p in prompt.positive:
        cv2.circle(labels, at(p), dot, cv2.GC_FGD, -1)
    for p in prompt.negative:
        cv2.circle(labels, at(p), 2 * dot, cv2.GC_BGD, -1)
    return labels


def _keep_clicked(mask: np.ndarray, prompt: Prompt) -> np.ndarray:
    """Only the pieces that hold a positive click (or, with a box and no click, the largest piece)."""
    count, parts, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    h, w = mask.shape
    keep = {int(parts[min(h - 1, round(y)), min(w - 1, round(x))]) for x, y in prompt.positive} - {0}
    if not keep:
        keep = {int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) + 1}
    return np.where(np.isin(parts, list(keep)), 255, 0).astype(np.uint8)
