"""Crop mode: the model sees a box around the window's masks at native resolution; the rest stays exact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model_runtime.engines.composite import feather_alpha
from model_runtime.engines.vivid import VividEngine
from model_runtime.vivid.framing import CropBox, WholeFrame, choose, crop_box
from vivid_desktop.media import synth
from vivid_desktop.protocol.jobs import RenderPlan


def _mask(shape, top, left, h, w) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    m[top : top + h, left : left + w] = 255
    return m


def test_a_small_mask_on_1080p_gets_a_native_model_sized_box():
    shape = (1080, 1920)
    masks = [_mask(shape, 500, 900, 100, 80), _mask(shape, 520, 960, 100, 80)]  # the object moves
    box = crop_box(masks, (480, 720), feather=3)
    assert isinstance(box, CropBox) and (box.height, box.width) == (480, 720)  # native pixels, no resize
    union = np.maximum(masks[0], masks[1]) > 0
    assert union[box.top : box.top + box.height, box.left : box.left + box.width].sum() == union.sum()
    frame = np.random.default_rng(0).integers(0, 256, (*shape, 3), np.uint8)
    assert np.array_equal(box.to_model(frame), frame[box.top : box.top + 480, box.left : box.left + 720])
    back = box.from_model(np.zeros((480, 720, 3), np.uint8), frame)
    outside = np.ones(shape, bool)
    outside[box.top : box.top + 480, box.left : box.left + 720] = False
    assert np.array_equal(back[outside], frame[outside])  # bit-exact outside the box


def test_the_box_stays_inside_the_frame_and_keeps_the_model_aspect():
    shape = (720, 1280)
    box = crop_box([_mask(shape, 0, 1200, 300, 80)], (480, 720), feather=3)  # top-right corner, tall
    assert box is not None and box.top == 0 and box.left + box.width == 1280
    assert abs(box.width / box.height - 720 / 480) < 0.01 and box.height >= 300


def test_auto_letterboxes_big_masks_and_crop_mode_can_be_forced():
    shape = (240, 432)
    big = [_mask(shape, 20, 40, 200, 300)]
    small = [_mask(shape, 100, 200, 20, 20)]
    assert isinstance(choose("auto", big, (480, 720), 3), WholeFrame)
    assert isinstance(choose("letterbox", small, (64, 96), 3), WholeFrame)
    assert isinstance(choose("auto", small, (64, 96), 3), CropBox)
    assert isinstance(choose("crop", [np.zeros(shape, np.uint8)], (64, 96), 3), WholeFrame)  # no mask


@pytest.mark.parametrize("mode", ["auto", "letterbox"])
def test_propagation_runs_the_model_on_the_crop(tiny_model, tmp_path, make_ctx, monkeypatch, mode):
    scene = synth.pan_scene(n_frames=9, width=96, height=64, seed=4)
    clip = synth.write_clip(tmp_path / "wide.mkv", scene.frames, codec="ffv1", pix_fmt="bgr0")
    mask = _mask((64, 96), 36, 60, 8, 10)
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    engine = VividEngine()
    seen: list[np.ndarray] = []
    plan = RenderPlan(
        source=str(clip),
        start=0,
        stop=9,
        mask=str(tmp_path / "m.png"),
        task="delete",
        engine="vivid",
        seed=3,
        settings={"model": str(tiny_model), "steps": 2, "window_length": 9, "framing": mode},
        output_dir=str(tmp_path / "out"),
        feather=2,
    )
    from model_runtime.vivid.runner import Runner

    original = Runner.generate

    def spy(self, frames, *args, **kwargs):
        seen.extend(frames)
        return original(self, frames, *args, **kwargs)

    monkeypatch.setattr(Runner, "generate", spy)
    engine.propagate(plan, make_ctx())
    box = crop_box([mask], (32, 32), feather=2)
    assert box is not None and (box.height, box.width) == (32, 32)
    crops = [f[box.top : box.top + 32, box.left : box.left + 32] for f in scene.frames]
    same = [np.array_equal(s, c) for s, c in zip(seen, crops, strict=True)]
    assert all(same) if mode == "auto" else not any(same)
    outside = feather_alpha(mask, 2) == 0
    for f in range(9):
        out = cv2.cvtColor(cv2.imread(str(tmp_path / "out" / f"{f:06d}.png")), cv2.COLOR_BGR2RGB)
        assert np.array_equal(out[outside], scene.frames[f][outside]), f
        assert not np.array_equal(out[mask > 0], scene.frames[f][mask > 0])
