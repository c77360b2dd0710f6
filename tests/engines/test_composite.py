"""Feathered compositing: the edit fades in over the feather band; beyond it the source, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_runtime.engines.composite import composite, feather_alpha


def images(seed: int, h: int = 40, w: int = 56) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8), rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    feather=st.integers(0, 6),
    box=st.tuples(st.integers(0, 39), st.integers(0, 55), st.integers(1, 20), st.integers(1, 20)),
)
def test_outside_the_feather_band_the_source_is_untouched(seed, feather, box):
    source, edited = images(seed)
    y, x, h, w = box
    mask = np.zeros(source.shape[:2], np.uint8)
    mask[y : y + h, x : x + w] = 255
    out = composite(source, edited, mask, feather)
    ys, xs = np.mgrid[: mask.shape[0], : mask.shape[1]]
    my, mx = np.nonzero(mask)
    # Distance from every pixel to the nearest mask pixel, computed the slow, obvious way.
    dist = np.sqrt(((ys[..., None] - my) ** 2 + (xs[..., None] - mx) ** 2).min(axis=2))
    outside = dist >= feather + 1
    np.testing.assert_array_equal(out[outside], source[outside])
    np.testing.assert_array_equal(out[mask > 0], edited[mask > 0])


def test_the_band_fades_smoothly_outwards():
    mask = np.zeros((21, 41), np.uint8)
    mask[:, :20] = 255
    alpha = feather_alpha(mask, 4)
    row = alpha[10, 19:27]
    assert row[0] == 1.0 and row[-1] == 0.0
    assert np.all(np.diff(row) <= 0) and 0 < row[2] < 1


def test_soft_masks_blend_inside():
    source = np.zeros((8, 8, 3), np.uint8)
    edited = np.full((8, 8, 3), 200, np.uint8)
    mask = np.full((8, 8), 128, np.uint8)
    out = composite(source, edited, mask, feather=0)
    assert abs(int(out[4, 4, 0]) - 100) <= 1


def test_an_empty_mask_returns_the_source():
    source, edited = images(1)
    out = composite(source, edited, np.zeros(source.shape[:2], np.uint8), 5)
    np.testing.assert_array_equal(out, source)
    assert out is not source


def test_mismatched_shapes_are_refused():
    source, edited = images(2)
    with pytest.raises(ValueError):
        composite(source, edited[:-1], np.zeros(source.shape[:2], np.uint8))
