"""Fixtures for the trainer tests: tiny seeded models on disk, synthetic datasets, a recording context."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import tqdm

torch.set_num_threads(2)
# diffusers' progress bars would start tqdm's process-wide monitor thread (flagged as a leak).
tqdm.tqdm.monitor_interval = 0


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny VIVID checkpoint (widened transformer), written once per session."""
    from model_runtime.vivid.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny", seed=0)


@pytest.fixture(scope="session")
def plain_model(tmp_path_factory) -> Path:
    """A tiny *plain* CogVideoX folder (no mask inputs): the trainer must widen and train the embedding."""
    from diffusers import CogVideoXPipeline

    from model_runtime.vivid.tiny import tiny_components

    out = tmp_path_factory.mktemp("models") / "plain"
    CogVideoXPipeline(**tiny_components(seed=0, widened=False).as_dict()).save_pretrained(out)
    return out
