"""Deletion samples (DESIGN.md §1): an entity-shaped hole on background, moving with the scene.

The paper makes deletion training data without any "video minus object" ground truth: take an entity's
silhouette from somewhere else, paste it onto a part of the clip that shows background, and carry it along
the clip's optical flow so that it sticks to the scene like a real object would. The model then learns to
fill that hole with what is really there (the original pixels are the target) when told the fixed deletion
caption. Flow is OpenCV's DIS on a downscaled grey copy: cheap, and exact enough for a mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from model_runtime.cvtyped import dense_flow

#: the flow is computed on frames at most this wide (a mask needs no finer motion)
FLOW_WIDTH = 256


def entity_shapes(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Tight crops of the non-empty 2-D masks: the silhouettes deletion samples paste elsewhere."""
    shapes = []
    for mask in masks:
        ys, xs = np.nonzero(mask >= 128)
        if ys.size >= 16:
            crop = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            shapes.append(np.where(crop >= 128, 255, 0).astype(np.uint8))
    return shapes


def synthetic_shape(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A random blob (a few overlapping ellipses), used when a dataset has no entity masks to borrow."""
    shape = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = (int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
        ax, ay = (int(v) for v in rng.integers(size // 8, size // 3, 2))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(shape, (cx, cy), (ax, ay), angle, 0, 360, 255, -1)
    return shape


def place_shape(
    shape: np.ndarray,
    frame_shape: tuple[int, int],
    rng: np.random.Generator,
    avoid: np.ndarray | None = None,
    area: tuple[float, float] = (0.04, 0.2),
    tries: int = 12,
) -> np.ndarray:
    """Scale ``shape`` to a random share of the frame and put it where it overlaps ``avoid`` least."""
    h, w = frame_shape
    target_area = rng.uniform(*area) * h * w
    filled = max(1, int((shape > 0).sum()))
    scale = float(np.sqrt(target_area / filled))
    sh = int(np.clip(round(shape.shape[0] * scale), 4, h))
    sw = int(np.clip(round(shape.shape[1] * scale), 4, w))
    resized = cv2.resize(shape, (sw, sh), interpolation=cv2.INTER_NEAREST)
    best, best_overlap = None, None
    for _ in range(tries):
        y, x = int(rng.integers(0, h - sh + 1)), int(rng.integers(0, w - sw + 1))
        overlap = 0 if avoid is None else int((avoid[y : y + sh, x : x + sw] >= 128).sum())
        if best_overlap is None or overlap < best_overlap:
            best, best_overlap = (y, x), overlap
        if overlap == 0:
            break
    assert best is not None
    y, x = best
    out = np.zeros((h, w), np.uint8)
    out[y : y + sh, x : x + sw] = resized
    return out


def _grey_small(frame: np.ndarray) -> tuple[np.ndarray, float]:
    h, w = frame.shape[:2]
    scale = min(1.0, FLOW_WIDTH / w)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(
            grey, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    return grey, scale


def carry_along_flow(first_mask: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Move a frame-0 mask through ``frames`` (T, H, W, 3) with dense flow; returns (T, H, W) masks.

    For each next frame the flow *from it back to* the previous frame tells every pixel where it came
    from, so the previous mask is pulled forward with one remap (no holes, unlike pushing pixels).
    """
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    h, w = first_mask.shape
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    masks = [first_mask]
    prev_grey, scale = _grey_small(frames[0])
    for frame in frames[1:]:
        grey, _ = _grey_small(frame)
        back = dense_flow(dis, grey, prev_grey)
        if scale < 1.0:
            back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR) / scale
        warped = cv2.remap(
            masks[-1], grid_x + back[..., 0], grid_y + back[..., 1], cv2.INTER_LINEAR, borderValue=0
        )
        masks.append(np.where(warped >= 128, 255, 0).astype(np.uint8))
        prev_grey = grey
    return np.stack(masks)


def deletion_masks(
    frames: np.ndarray,
    shapes: list[np.ndarray],
    rng: np.random.Generator,
    avoid: np.ndarray | None = None,
) -> np.ndarray:
    """A deletion mask sequence for ``frames`` (T, H, W, 3): a borrowed silhouette moved with the scene.

    ``avoid`` (T, H, W) marks real entities; the hole is placed on frame 0 where it covers them least, so
    that what the model must invent is background.
    """
    shape = shapes[int(rng.integers(len(shapes)))] if shapes else synthetic_shape(rng)
    first = place_shape(shape, frames.shape[1:3], rng, None if avoid is None else avoid[0])
    if frames.shape[0] == 1:
        return first[None]
    return carry_along_flow(first, frames)
