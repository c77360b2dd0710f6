"""Masks made elsewhere (a grey mask video, a folder of per-frame PNGs) brought onto an edit.

Frame ``i`` of a mask video, or the file ``000012.png`` / ``12.png`` of a folder, is the mask of clip
frame ``i``; masks of another size are scaled to the clip; lossy video is thresholded at 128. The masks
become the edit's tracked masks (its ``MaskTrack``); the first one also becomes a keyframe when the edit
has none, so it can be corrected and tracked again like any other.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
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
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}


def _binary(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    grey = image if image.ndim == 2 else image.max(axis=2)
    if (grey.shape[1], grey.shape[0]) != size:
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR)
    return np.where(grey >= 128, 255, 0).astype(np.uint8)


def read_masks(path: str | Path, size: tuple[int, int], count: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(frame, mask)`` of a mask video or PNG folder, frames ``< count`` only, in order."""
    path = Path(path)
    if path.is_dir():
        files = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := _NUMBERED_PNG.fullmatch(p.name)))
        if not files:
            raise ProjectError(f"{path.name} holds no per-frame masks named like 000012.png")
        for n, p in files:
            image = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise ProjectError(f"{p.name} is not an image")
            if n < count:
                yield n, _binary(image, size)
        return
    from vivid_desktop.media.errors import MediaError
    from vivid_desktop.media.reader import FrameReader

    try:
        with FrameReader(path) as reader:
            for n, rgb in enumerate(reader.iter_frames(0, min(count, reader.frame_count))):
                yield n, _binary(rgb, size)
    except MediaError as exc:
        raise ProjectError(f"cannot read the mask video {path.name}: {exc}") from None


def looks_like_mask_video(path: str | Path) -> bool:
    """A video whose first frame is grey and nearly all black or white: a mask, not a clip to open."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        return False
    try:
        from vivid_desktop.media.reader import FrameReader

        with FrameReader(path) as reader:
            rgb = next(iter(reader.iter_frames(0, 1)))
    except Exception:  # not a readable video: let the caller open it and report the real error
        return False
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
    store: ProjectStore, edit_id: str, path: str | Path, progress: Callable[[int, int], None] | None = None
) -> Staged:
    """Decode and write the masks at ``path`` beside the edit's track folder (safe on a worker thread)."""
    src = store.project.source
    staging = store.track_dir(edit_id).with_name("track.importing")
    shutil.rmtree(staging, ignore_errors=True)
    first: tuple[int, np.ndarray] | None = None
    last = -1
    for n, mask in read_masks(path, (src.width, src.height), src.frame_count):
        write_frame(staging / frame_name(n), mask, durable=False)
        first = first or (n, mask)
        last = n
        if progress:
            progress(n + 1, src.frame_count)
    if first is None:
        shutil.rmtree(staging, ignore_errors=True)
        raise ProjectError(f"{Path(path).name} holds no mask for a frame of this clip")
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


def import_masks(
    store: ProjectStore, edit_id: str, path: str | Path, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """:func:`stage_masks` then :func:`adopt_masks`, in one go."""
    return adopt_masks(store, edit_id, stage_masks(store, edit_id, path, progress))
