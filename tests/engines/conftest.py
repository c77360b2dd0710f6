"""Fixtures for the engine tests: small lossless synthetic clips with known ground truth."""

from __future__ import annotations

import pytest
from flow_helpers import SceneClip, write_lossless, write_masks

from vivid_desktop.media.synth import deforming_scene, pan_scene


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> SceneClip:
    """24 frames of 160×96: a textured background panning (2, 0.5) px/frame, a red object drifting."""
    folder = tmp_path_factory.mktemp("pan")
    scene = pan_scene(n_frames=24, width=160, height=96)
    return SceneClip(
        scene, write_lossless(folder / "pan.mkv", scene.frames), write_masks(folder / "masks", scene.masks)
    )


@pytest.fixture(scope="module")
def deforming(tmp_path_factory) -> SceneClip:
    """Like ``pan`` but the object is textured and grows (flow-based tracking)."""
    folder = tmp_path_factory.mktemp("deforming")
    scene = deforming_scene(n_frames=24, width=240, height=144)
    return SceneClip(
        scene,
        write_lossless(folder / "deforming.mkv", scene.frames),
        write_masks(folder / "masks", scene.masks),
    )
