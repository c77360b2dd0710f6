"""The built-in demo: a generated clip with an object to remove and its keyframe mask already painted.

The clip (a textured background under a camera pan, a striped ball drifting across it, a 440 Hz tone) is
made once with ``media.synth`` and cached in the user data folder; each "Open demo" makes a fresh
project for it with one *delete* edit on the flow engine, so Propagate works on the first click.
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np

from vivid_desktop.core import masks
from vivid_desktop.core.store import ProjectStore, create_project
from vivid_desktop.media.synth import pan_scene, write_clip
from vivid_desktop.qt.settings import data_dir

DEMO_FRAMES = 72
DEMO_SIZE = (480, 272)
DEMO_RATE = Fraction(24)
DEMO_KEYFRAMES = (0, 24, 48, 71)


def demo_folder() -> Path:
    return data_dir() / "demo"


def _scene():
    """``pan_scene`` with a patterned ball: texture that moves with the object gives the optical flow
    something to follow (a flat-coloured object has no flow of its own)."""
    w, h = DEMO_SIZE
    scene = pan_scene(n_frames=DEMO_FRAMES, width=w, height=h, velocity=(2.0, 0.5), object_size=0.22, seed=7)
    ys, xs = np.mgrid[0:h, 0:w]
    for frame, mask in zip(scene.frames, scene.masks, strict=True):
        inside = mask > 0
        cols = np.flatnonzero(inside.any(axis=0))
        cx = (cols[0] + cols[-1]) / 2
        # stripes and dots fixed to the ball (they move with it)
        u = xs - cx
        stripes = ((u // 9) % 2 == 0) & inside
        dots = ((((u + 4) // 18) + (ys // 12)) % 2 == 0) & ((ys % 12) < 5) & inside
        frame[inside] = (205, 35, 40)
        frame[stripes] = (245, 200, 60)
        frame[dots] = (30, 30, 160)
    return scene


def ensure_demo_clip(folder: Path | None = None) -> Path:
    """The demo clip, generated on first use (about a second)."""
    folder = folder or demo_folder()
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / "demo-clip.mp4"
    if not clip.is_file():
        tmp = folder / ".demo-clip.partial.mp4"
        write_clip(tmp, _scene().frames, rate=DEMO_RATE, audio_seconds=float(DEMO_FRAMES / DEMO_RATE))
        tmp.replace(clip)
    return clip


def create_demo_project(folder: Path | None = None) -> ProjectStore:
    """A fresh demo project (the previous one is replaced). Runs in a worker thread."""
    folder = folder or demo_folder()
    clip = ensure_demo_clip(folder)
    project_dir = folder / "demo.vivid"
    if project_dir.exists():
        shutil.rmtree(project_dir)
    w, h = DEMO_SIZE
    store = create_project(
        project_dir, clip, width=w, height=h, rate=DEMO_RATE, frame_count=DEMO_FRAMES, name="VIVID demo"
    )
    edit = store.project.add_edit(task="delete", engine="flow", name="Remove the striped ball")
    # The painted masks: the ball's silhouette with a margin, as an editor would brush it, on a few
    # keyframes (anchors) that mask tracking carries the mask between.
    scene = _scene()
    for frame in DEMO_KEYFRAMES:
        store.add_keyframe(edit.id, frame, masks.expand(scene.masks[frame], 5))
    view = dict(store.project.settings.view)
    view.update(frame=DEMO_KEYFRAMES[0], edit=edit.id)
    store.project.set_setting("view", view)
    store.save()
    return store
