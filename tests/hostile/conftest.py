"""Fixtures of the hostile-input suite: a real clip, a real project beside it, and a guarded outside.

``outside`` is a folder next to the project holding files a crafted project aims at; every test that
uses it fails if anything in it was written, removed or had its mode changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hostile_helpers import H, W, frames, make_project, snapshot

from vivid_desktop.core.store import ProjectStore, open_project
from vivid_desktop.media.synth import write_clip


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A 48×32, 6-frame H.264 clip (shared, read only)."""
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames(), rate=25)


@pytest.fixture
def store(tmp_path: Path, clip: Path) -> ProjectStore:
    """A project with one delete edit and a painted keyframe at frame 2, saved."""
    s = make_project(tmp_path / "clip.vivid", clip)
    edit = s.project.add_edit(task="delete")
    mask = np.zeros((H, W), np.uint8)
    mask[8:20, 10:30] = 255
    s.add_keyframe(edit.id, 2, mask)
    s.save()
    return s


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """Files a crafted project aims at; the test fails if any of them changes."""
    folder = tmp_path / "outside"
    (folder / "backups").mkdir(parents=True)
    (folder / "victim.png").write_bytes(b"\x89PNG not really")
    (folder / "secret.txt").write_text("secret")
    for i in range(3):
        (folder / "backups" / f"project-2020010{i}.json").write_text("{}")
    (folder / "x").mkdir()
    (folder / "x" / ".victim.png.ab12.tmp").write_bytes(b"a temp name, but not ours")
    before = snapshot(folder)
    yield folder
    assert snapshot(folder) == before, "something outside the project changed"


Crafter = Callable[[Callable[[dict], None]], ProjectStore]


@pytest.fixture
def crafted(store: ProjectStore) -> Crafter:
    """``crafted(change)``: edit ``store``'s project.json with ``change(data)`` and open it again."""

    def make(change: Callable[[dict], None]) -> ProjectStore:
        data = json.loads(store.project_file.read_text())
        change(data)
        store.project_file.write_text(json.dumps(data))
        return open_project(store.folder)

    return make
