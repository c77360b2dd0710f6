"""Launch specs for the real runtime (with a test-only engine) and for the fake runtimes."""

from __future__ import annotations

import sys
from pathlib import Path

from vivid_desktop.runtime_client import LaunchSpec

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
