"""Fixtures for runtime tests: launch specs for the real runtime (with a test-only engine) and fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_specs import real_spec

from vivid_desktop.runtime_client import RuntimeClient


@pytest.fixture
def client() -> Iterator[RuntimeClient]:
    """A started real runtime; shut down (and its threads joined) after the test."""
    c = RuntimeClient(real_spec())
    c.start()
    try:
        yield c
    finally:
        c.shutdown()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A file that stands for a source clip (the testing engine never decodes it)."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"not really a video")
    return path


@pytest.fixture
def mask(tmp_path: Path) -> Path:
    path = tmp_path / "mask.png"
    path.write_bytes(b"not really a png")
    return path
