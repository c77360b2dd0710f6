"""Fixtures for the core tests: a source file and a fresh project folder around it.

Core never decodes media, so the "clip" is opaque bytes: the store only fingerprints it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vivid_desktop.core.store import ProjectStore, create_project

WIDTH, HEIGHT, FRAMES = 64, 48, 120


def make_source(path: Path, size: int = 300_000, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


@pytest.fixture(name="make_source")
def make_source_fixture():
    """``make_source(path, size=300_000, seed=0)``: a file of random bytes."""
    return make_source


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "media" / "clip.mp4")


@pytest.fixture
def store(tmp_path: Path, source: Path) -> ProjectStore:
    return create_project(
        tmp_path / "clip.vivid",
        source,
        width=WIDTH,
        height=HEIGHT,
        rate=Fraction(30000, 1001),
        frame_count=FRAMES,
    )
