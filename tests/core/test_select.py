"""Click to select: clicks and a box make an object mask with GrabCut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vivid_desktop.core.select import Prompt, select_object


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0) & (b > 0)).sum() / max(1, ((a > 0) | (b > 0)).sum()))


@pytest.fixture(scope="module")
def picture():
    """A textured green-grey background with an orange person-like shape and a blue ball."""
    rng = np.random.default_rng(2)
    h, w = 180, 320
    noise = cv2.resize(
        rng.integers(0, 255, (h // 8, w // 8, 3), np.uint8), (w, h), interpolation=cv2.INTER_CUBIC
    )
    image = (0.5 * noise + np.array([40, 90, 60]) * 0.5).astype(np.uint8)
    person = np.zeros((h, w), np.uint8)
    cv2.ellipse(person, (120, 90), (22, 45), 0, 0, 360, 255, -1)  # body
    cv2.circle(person, (120, 35), 14, 255, -1)  # head
    cv2.line(person, (100, 80), (70, 120), 255, 7)  # an arm
    image[person > 0] = (230, 140, 50)
    ball = cv2.circle(np.zeros((h, w), np.uint8), (250, 100), 25, 255, -1)
    image[ball > 0] = (40, 60, 220)
    return image, person, ball


def test_one_click_selects_the_object_under_it(picture):
    image, person, ball = picture
    mask = select_object(image, Prompt(positive=[(120, 90)]))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert iou(mask, person) >= 0.85
    assert not (mask & ball).any()


def test_a_box_selects_what_it_holds_and_a_negative_click_removes(picture):
    image, person, ball = picture
    boxed = select_object(image, Prompt(box=(220, 70, 280, 130)))
    assert iou(boxed, ball) >= 0.85
    both = select_object(image, Prompt(box=(60, 15, 285, 140), positive=[(120, 90), (250, 100)]))
    assert iou(both, person | ball) >= 0.8
    without = select_object(
        image, Prompt(box=(60, 15, 285, 140), positive=[(120, 90)], negative=[(250, 100)])
    )
    assert (without & ball).sum() <= 0.05 * (ball > 0).sum()
    assert iou(without, person) >= 0.8


def test_no_click_and_no_box_is_a_clear_error(picture):
    with pytest.raises(ValueError, match="click on the object"):
        select_object(picture[0], Prompt(negative=[(5, 5)]))
