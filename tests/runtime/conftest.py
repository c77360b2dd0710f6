"""Fixtures for runtime tests: launch specs for the real runtime (with a test-only engine) and fakes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vivid_desktop.runtime_client import LaunchSpec, RuntimeClient

FAKES = Path(__file__).parent / "fakes"
TESTING_ENGINE = f"testing={FAKES / 'testing_engine.py'}:TestingEngine"


def real_spec(**overrides) -> LaunchSpec:
    """The real runtime, with the testing engine registered."""
    spec = LaunchSpec(extra_args=["--engine", TESTING_ENGINE, "--log-level", "DEBUG"], start_timeout=20.0)
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


def fake_spec(name: str, **overrides) -> LaunchSpec:
    """A fake runtime script from tests/runtime/fakes."""
    spec = LaunchSpec(
        command=[sys.executable, str(FAKES / f"{name}.py")], start_timeout=10.0, shutdown_timeout=0.3
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


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
