"""Fixtures of the engine contract: the tiny clip and one subject per engine (module-scoped, so each
engine's model is built and its full render made once).

A subject is an engine name plus the settings that make it fast here: the vivid engine on a tiny seeded
model, 2 steps, 9-frame windows.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from contract_support import FRAMES, HEIGHT, WIDTH, Clip, Subject

from vivid_desktop.media import synth
from vivid_desktop.render_folder import frame_path, write_frame


@pytest.fixture(scope="session")
def contract_clip(tmp_path_factory) -> Clip:
    """17 frames of 48×32, lossless, with per-frame masks of a drifting object (grown by 2 px)."""
    folder = tmp_path_factory.mktemp("contract")
    scene = synth.pan_scene(n_frames=FRAMES, width=WIDTH, height=HEIGHT, seed=11)
    path = synth.write_clip(folder / "clip.mkv", scene.frames, codec="ffv1", pix_fmt="bgr0")
    kernel = np.ones((5, 5), np.uint8)
    masks = [cv2.dilate(m, kernel) for m in scene.masks]
    for n, m in enumerate(masks):
        write_frame(frame_path(folder / "masks", n), m, durable=False)
    return Clip(path, folder / "masks", scene.frames, masks)


@pytest.fixture(scope="session")
def tiny_vivid_model(tmp_path_factory) -> Path:
    import tqdm

    from model_runtime.vivid.tiny import write_tiny_model

    tqdm.tqdm.monitor_interval = 0  # diffusers' bars would start tqdm's monitor thread
    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny", seed=0)


@pytest.fixture(scope="module", params=["flow", "vivid"])
def subject(request, contract_clip) -> Subject:
    if request.param == "flow":
        return Subject("flow", {}, contract_clip)
    import torch

    torch.set_num_threads(2)
    model = request.getfixturevalue("tiny_vivid_model")
    settings = {"model": str(model), "steps": 2, "window_length": 9, "window_stride": 8}
    return Subject("vivid", settings, contract_clip)
