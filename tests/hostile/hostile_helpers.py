"""Helpers of the hostile-input suite: tiny clips and a snapshot of a folder tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from vivid_desktop.core.store import ProjectStore, create_project
from vivid_desktop.media.probe import probe

W, H, N = 48, 32, 6


def frames(n: int = N, width: int = W, height: int = H) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return [np.roll(base, i, axis=1) for i in range(n)]


def make_project(folder: Path, clip: Path) -> ProjectStore:
    info = probe(clip)
    return create_project(
        folder, clip, width=info.width, height=info.height, rate=info.rate, frame_count=info.frame_count
    )


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every entry under ``folder``: content hash (or link target) and mode, without following links."""
    out = {}
    for here, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(here) / name
            st = p.lstat()
            if p.is_symlink():
                out[str(p)] = ("link:" + os.readlink(p), st.st_mode)
            elif p.is_file():
                out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mode)
            else:
                out[str(p)] = ("dir", st.st_mode)
    return out
