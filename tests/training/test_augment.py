"""Mask augmentations and deletion masks produce the documented shapes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model_runtime.training.augment import AUGMENTATIONS, augment_mask, expand_radius
from model_runtime.training.deletion import carry_along_flow, deletion_masks, place_shape
from vivid_desktop.media.synth import pan_scene


def l_shape() -> np.ndarray:
    """An L: its hull fills the corner triangle, its box the whole square."""
    mask = np.zeros((64, 80), np.uint8)
    mask[10:50, 10:20] = 255
    mask[40:50, 10:50] = 255
    return mask


def test_every_kind_is_binary_and_contains_the_mask():
    mask = l_shape()
    mask[30, 15] = 140  # a soft edge value counts as masked from 128
    for kind in AUGMENTATIONS:
        out = augment_mask(mask, kind, radius=3)
        assert out.shape == mask.shape and out.dtype == np.uint8
        assert set(np.unique(out)) <= {0, 255}, kind
        assert (out[mask >= 128] == 255).all(), f"{kind} lost masked pixels"


def test_original_is_the_binarised_mask():
    mask = l_shape()
    mask[0, 0] = 100  # below 128: not masked
    assert np.array_equal(augment_mask(mask, "original"), np.where(mask >= 128, 255, 0))


def test_expand_grows_by_the_radius():
    dot = np.zeros((41, 41), np.uint8)
    dot[20, 20] = 255
    out = augment_mask(dot, "expand", radius=5)
    ys, xs = np.nonzero(out)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (15, 25, 15, 25)
    assert out[15, 15] == 0  # a disk, not a square


def test_hull_fills_the_concavity_and_is_convex():
    mask = l_shape()
    hull = augment_mask(mask, "hull")
    assert hull[35, 25] == 255 and mask[35, 25] == 0  # inside the L's bend
    assert hull[12, 45] == 0  # beyond the diagonal: not in the hull
    contours, _ = cv2.findContours(hull, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    assert len(contours) == 1
    assert cv2.contourArea(cv2.convexHull(contours[0])) <= cv2.contourArea(contours[0]) * 1.05


def test_box_is_the_bounding_rectangle_and_box_expand_grows_it_clipped():
    mask = l_shape()
    box = augment_mask(mask, "box")
    expected = np.zeros_like(mask)
    expected[10:50, 10:50] = 255
    assert np.array_equal(box, expected)
    grown = augment_mask(mask, "box_expand", radius=15)
    expected[:] = 0
    expected[0:64, 0:65] = 255  # top and left clip at the frame edge, bottom clips at 64
    assert np.array_equal(grown, expected)


def test_hull_expand_contains_hull_and_is_larger():
    mask = l_shape()
    hull = augment_mask(mask, "hull")
    both = augment_mask(mask, "hull_expand", radius=4)
    assert (both[hull == 255] == 255).all() and (both > 0).sum() > (hull > 0).sum()


def test_video_masks_are_augmented_frame_by_frame_and_empty_stays_empty():
    video = np.zeros((3, 32, 32), np.uint8)
    video[0, 2:6, 2:6] = 255
    video[2, 20:30, 10:12] = 255
    box = augment_mask(video, "box_expand", radius=1)
    assert box.shape == video.shape
    assert box[1].max() == 0  # frame 1 had no mask
    assert (box[0] > 0).sum() == 36 and (box[2] > 0).sum() == 12 * 4
    for kind in AUGMENTATIONS:
        assert augment_mask(np.zeros((8, 8), np.uint8), kind, 2).max() == 0


def test_unknown_kind_and_bad_shape_are_refused():
    with pytest.raises(ValueError, match="unknown mask augmentation"):
        augment_mask(l_shape(), "blur")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        augment_mask(np.zeros((2, 2, 2, 2), np.uint8), "box")


def test_expand_radius_scales_with_the_frame():
    rng = np.random.default_rng(0)
    radii = [expand_radius((480, 720), rng) for _ in range(200)]
    assert min(radii) >= 9 and max(radii) <= 38


def test_deletion_mask_sticks_to_the_background_as_it_pans():
    scene = pan_scene(n_frames=9, width=96, height=64, velocity=(2.0, 0.5), seed=3)
    first = np.zeros((64, 96), np.uint8)
    cv2.circle(first, (60, 20), 8, 255, -1)
    masks = carry_along_flow(first, np.stack(scene.frames))
    assert masks.shape == (9, 64, 96)
    ys0, xs0 = np.nonzero(masks[0])
    ys8, xs8 = np.nonzero(masks[8])
    # The background moves by -velocity per frame, so must the hole: 8 frames → (-16, -4) pixels.
    assert abs((xs8.mean() - xs0.mean()) + 16) < 2.0
    assert abs((ys8.mean() - ys0.mean()) + 4) < 2.0
    assert abs(len(xs8) - len(xs0)) < 0.25 * len(xs0)  # the silhouette keeps its size


def test_deletion_hole_avoids_the_entity_and_keeps_the_clip_shape():
    rng = np.random.default_rng(1)
    avoid = np.zeros((64, 96), np.uint8)
    avoid[:, :40] = 255
    shape = np.full((10, 10), 255, np.uint8)
    placed = place_shape(shape, (64, 96), rng, avoid, area=(0.03, 0.05))
    assert placed.any() and not (placed[avoid > 0]).any()
    frames = np.stack(pan_scene(n_frames=5, width=96, height=64, seed=2).frames)
    masks = deletion_masks(frames, [], rng, avoid=np.stack([avoid] * 5))
    assert masks.shape == (5, 64, 96) and masks[0].any()
    assert deletion_masks(frames[:1], [shape], rng).shape == (1, 64, 96)
