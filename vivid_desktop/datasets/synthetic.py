"""Synthetic training datasets (layout b) for tests and demos: textured scenes with a red ball masked.

Built from :func:`vivid_desktop.media.synth.pan_scene`, so every sample is reproducible from its seed.
"""

from __future__ import annotations

from pathlib import Path

from vivid_desktop.core.files import write_png
from vivid_desktop.media.synth import pan_scene, write_clip
from vivid_desktop.render_folder import frame_path

SIZE = 32
CAPTION = "a red ball"


def write_image_sample(
    folder: Path, name: str, seed: int, caption: str | None = CAPTION, size: int = SIZE
) -> None:
    """``NAME.png``, ``NAME.mask.png`` and ``NAME.txt`` (no caption file when ``caption`` is None)."""
    scene = pan_scene(n_frames=1, width=size, height=size, seed=seed)
    write_png(folder / f"{name}.png", scene.frames[0])
    write_png(folder / f"{name}.mask.png", scene.masks[0])
    if caption is not None:
        (folder / f"{name}.txt").write_text(caption)


def write_clip_sample(
    folder: Path, name: str, seed: int, frames: int = 9, caption: str = CAPTION, size: int = SIZE
) -> None:
    """``NAME.mp4``, a mask folder ``NAME.mask/`` (``{frame:06d}.png``) and ``NAME.txt``."""
    scene = pan_scene(n_frames=frames, width=size, height=size, seed=seed)
    write_clip(folder / f"{name}.mp4", scene.frames)
    masks = folder / f"{name}.mask"
    masks.mkdir()
    for i, mask in enumerate(scene.masks):
        write_png(frame_path(masks, i), mask)
    (folder / f"{name}.txt").write_text(caption)


def make_dataset(folder: Path, images: int = 3, clips: int = 1, seed: int = 0, validation: int = 0) -> Path:
    """A folder dataset: ``img{i}`` images, 9-frame ``clip{i}`` clips, ``validation/val{i}`` images."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(images):
        write_image_sample(folder, f"img{i}", seed + i)
    for i in range(clips):
        write_clip_sample(folder, f"clip{i}", seed + 100 + i)
    if validation:
        (folder / "validation").mkdir(exist_ok=True)
    for i in range(validation):
        write_image_sample(folder / "validation", f"val{i}", seed + 50 + i)
    return folder
