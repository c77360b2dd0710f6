"""Media-layer fixtures: ``clips`` writes each test clip once per session (see ``media_clips``)."""

from __future__ import annotations

import pytest
from media_clips import Clips


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Clips:
    return Clips(tmp_path_factory.mktemp("media"))
