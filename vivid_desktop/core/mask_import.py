"""Masks made elsewhere (a grey mask video, a folder of per-frame PNGs) brought onto an edit.

Frame ``i`` of a mask video (decoded by the caller: the core reads no media), or the file
``000012.png`` / ``12.png`` of a folder, is the mask of clip frame ``i``; masks of another size are scaled
to the clip; lossy video is thresholded at 128. The masks become the edit's tracked masks (its
``MaskTrack``); the first one also becomes a keyframe when the edit has none, so it can be corrected and
tracked again like any other.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vivid_desktop.core import retrack
from vivid_desktop.core.project import MaskTrack, ProjectError
from vivid_desktop.render_folder import frame_name, write_frame

if TYPE_CHECKING:
    from vivid_desktop.core.store import ProjectStore

_NUMBERED_PNG = re.compile(r"(\d+)\.png", re.IGNORECASE)


def _binary(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    grey = image if image.ndim == 2 else image.max(axis=2)
    if (grey.shape[1], grey.shape[0]) != size:
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR)
    return np.where(grey >= 128, 255, 0).astype(np.uint8)


Frames = Iterable[np.ndarray]


def read_masks(
    source: str | Path | Frames, size: tuple[int, int], count: int
) -> Iterator[tuple[int, np.ndarray]]:
    """``(frame, mask)`` of a PNG folder or of a mask video's decoded RGB frames, frames ``< count``."""
    if not isinstance(source, str | Path):
        for n, rgb in zip(range(count), source, strict=False):
            yield n, _binary(rgb, size)
        return
    path = Path(source)
    files = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := _NUMBERED_PNG.fullmatch(p.name)))
    if not files:
        raise ProjectError(f"{path.name} holds no per-frame masks named like 000012.png")
    for n, p in files:
        image = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ProjectError(f"{p.name} is not an image")
        if n < count:
            yield n, _binary(image, size)


def is_mask_picture(rgb: np.ndarray) -> bool:
    """Grey and nearly all black or white: a frame of a mask video, not of a clip."""
    spread = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)
    extreme = (rgb.max(axis=2) < 32) | (rgb.min(axis=2) > 223)
    return bool((spread < 12).mean() > 0.99 and extreme.mean() > 0.95)


@dataclass
class Staged:
    """Masks decoded and written next to the edit's track folder, not yet part of the project."""

    folder: Path
    start: int
    stop: int
    first: int
    first_mask: np.ndarray


def stage_masks(
    store: ProjectStore,
    edit_id: str,
    source: str | Path | Frames,
    progress: Callable[[int, int], None] | None = None,
) -> Staged:
    """Write the masks of ``source`` (a PNG folder, or a mask video's frames) beside the edit's track
    folder (safe on a worker thread)."""
    src = store.project.source
    staging = store.track_dir(edit_id).with_name("track.importing")
    shutil.rmtree(staging, ignore_errors=True)
    first: tuple[int, np.ndarray] | None = None
    last = -1
    for n, mask in read_masks(source, (src.width, src.height), src.frame_count):
        write_frame(staging / frame_name(n), mask, durable=False)
        first = first or (n, mask)
        last = n
        if progress:
            progress(n + 1, src.frame_count)
    if first is None:
        shutil.rmtree(staging, ignore_errors=True)
        raise ProjectError("it holds no mask for a frame of this clip")
    return Staged(staging, first[0], last + 1, first[0], first[1])


def adopt_masks(store: ProjectStore, edit_id: str, staged: Staged) -> tuple[int, int]:
    """Make staged masks the edit's tracked masks (main thread); returns the frames covered."""
    folder = store.track_dir(edit_id)
    shutil.rmtree(folder, ignore_errors=True)
    staged.folder.rename(folder)
    if not store.project.edit(edit_id).keyframes:
        store.add_keyframe(edit_id, staged.first, staged.first_mask)
    relative = folder.relative_to(store.folder).as_posix()
    track = MaskTrack(folder=relative, start=staged.start, stop=staged.stop)
    store.project.set_edit_field(edit_id, "mask_track", track)
    store.save(backup=False)  # the keyframes' files are on disk: the record below names them
    anchors = {k.frame: store.path(k.mask) for k in store.project.edit(edit_id).keyframes}
    retrack.record_anchors(folder, anchors, staged.start, staged.stop)
    return staged.start, staged.stop


def import_masks(store: ProjectStore, edit_id: str, source: str | Path | Frames) -> tuple[int, int]:
    """:func:`stage_masks` then :func:`adopt_masks`, in one go."""
    return adopt_masks(store, edit_id, stage_masks(store, edit_id, source))
