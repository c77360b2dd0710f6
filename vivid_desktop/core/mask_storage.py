"""Keyframe masks and edited keyframe images of a project: painted pixels in memory, files on save.

Part of :class:`vivid_desktop.core.store.ProjectStore` (which supplies ``folder``, ``project``,
``events`` and the paths of :class:`~vivid_desktop.core.layout.ProjectLayout`). Masks are grey uint8
PNGs the size of the source frame (255 = edit); painted pixels stay in a :class:`MaskCache` until the
next save writes them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from vivid_desktop.core.files import FileError, read_png, write_png
from vivid_desktop.core.layout import ProjectLayout
from vivid_desktop.core.mask_cache import MaskCache
from vivid_desktop.core.masks import BBox
from vivid_desktop.core.paths import check_id, inside
from vivid_desktop.core.project import Project, ProjectError, keyframe_image_name, mask_name
from vivid_desktop.core.store_events import MaskChanged, StoreEvents
from vivid_desktop.render_folder import frame_name, nearest


class MaskStorage(ProjectLayout):
    """Mask and keyframe-image reading and writing (a part of ``ProjectStore``)."""

    project: Project
    events: StoreEvents
    _masks: MaskCache

    def mask_path(self, edit_id: str, frame: int) -> Path:
        """The mask file of a keyframe (the conventional name when there is no such keyframe or edit)."""
        edit = next((e for e in self.project.edits if e.id == edit_id), None)
        kf = edit.keyframe(frame) if edit is not None else None
        return self.path(kf.mask if kf else mask_name(check_id(edit_id, "edit id"), frame))

    def blank_mask(self) -> np.ndarray:
        return np.zeros((self.project.source.height, self.project.source.width), np.uint8)

    def read_mask(self, edit_id: str, frame: int) -> np.ndarray:
        """The keyframe's mask (the painted pixels even before a save); blank when there is no file."""
        cached = self._masks.get((edit_id, frame))
        if cached is not None:
            return cached
        path = self.mask_path(edit_id, frame)
        mask = self._read_mask_file(path) if path.exists() else self.blank_mask()
        self._masks.put((edit_id, frame), mask, dirty=False)
        return mask

    def _read_mask_file(self, path: Path) -> np.ndarray:
        try:
            mask = read_png(path, grey=True)
        except FileError as exc:
            raise ProjectError(str(exc)) from exc
        src = self.project.source
        if mask.shape != (src.height, src.width):
            raise ProjectError(
                f"the mask {path.name} is {mask.shape[1]}×{mask.shape[0]}, "
                f"but the clip is {src.width}×{src.height}"
            )
        return mask

    def set_mask(self, edit_id: str, frame: int, mask: np.ndarray, box: BBox | None = None) -> None:
        """Replace a keyframe's mask pixels; written on the next save. Emits ``MaskChanged`` with the
        changed ``box`` (None = anywhere)."""
        self._check_mask(mask)
        self.mask_path(edit_id, frame)  # refuse an edit id that would lead outside before keeping it
        self._masks.put((edit_id, frame), mask)
        if self.project.edit(edit_id).keyframe(frame) is not None:
            self.project.mask_painted(edit_id, frame)
        self.events.emit(MaskChanged(edit_id=edit_id, frame=frame, box=box))

    def _check_mask(self, mask: np.ndarray) -> None:
        src = self.project.source
        if mask.shape != (src.height, src.width) or mask.dtype != np.uint8:
            raise ProjectError(
                f"a mask must be uint8 {src.height}×{src.width}, not {mask.dtype} {mask.shape}"
            )

    def frame_mask(self, edit_id: str, frame: int) -> np.ndarray | None:
        """The mask an edit uses at any frame: the keyframe's, else the tracked one, else the nearest
        keyframe's (what the runtime does too); None when the edit has no mask at all."""
        edit = self.project.edit(edit_id)
        if edit.keyframe(frame) is not None:
            return self.read_mask(edit_id, frame)
        tracked = self.track_dir(edit_id) / frame_name(frame)
        if edit.mask_track is not None and tracked.is_file():
            return self._read_mask_file(tracked)
        if not edit.keyframes:
            return None
        return self.read_mask(edit_id, nearest(sorted(k.frame for k in edit.keyframes), frame))

    def patch_mask(self, edit_id: str, frame: int, box: BBox, pixels: np.ndarray) -> None:
        """Write ``pixels`` into the box of a keyframe's mask (used by undo of mask edits)."""
        mask = self.read_mask(edit_id, frame)
        mask[box.slices] = pixels
        self.set_mask(edit_id, frame, mask, box=box)

    def add_keyframe(self, edit_id: str, frame: int, mask: np.ndarray | None = None) -> None:
        """Add a keyframe with ``mask`` (blank by default); the PNG is written on the next save."""
        mask = self.blank_mask() if mask is None else mask
        self._check_mask(mask)
        self.path(mask_name(check_id(edit_id, "edit id"), frame))  # refused before the model changes
        self.project.add_keyframe(edit_id, frame)
        self.set_mask(edit_id, frame, mask)

    def _flush_masks(self) -> None:
        """Write the painted masks (called by ``save``); on failure they stay dirty for the next save."""
        todo = self._masks.take_dirty()
        try:
            for (edit_id, frame), mask in todo:
                write_png(self.mask_path(edit_id, frame), mask)
        except BaseException:
            self._masks.return_dirty(todo)
            raise

    # ------------------------------------------------------ keyframe images
    def read_keyframe_image(self, edit_id: str, frame: int) -> np.ndarray | None:
        kf = self.project.keyframe(edit_id, frame)
        return read_png(self.path(kf.image), grey=False) if kf.image else None

    def write_keyframe_image(self, edit_id: str, frame: int, image: np.ndarray) -> Path:
        """Store an edited keyframe (RGB, the source size) and point the keyframe at it."""
        src = self.project.source
        if image.shape != (src.height, src.width, 3):
            raise ProjectError(f"an edited keyframe must be {src.width}×{src.height} RGB, not {image.shape}")
        name = keyframe_image_name(edit_id, frame)
        write_png(self.path(name), image)
        self.project.set_keyframe_image(edit_id, frame, name)
        return self.path(name)

    def exchange_file(self, edit_id: str, frame: int) -> Path:
        """The PNG an external image editor works on for a keyframe, in ``exchange/``. The project's name
        (free text from project.json) is reduced to a safe file name."""
        name = re.sub(r"[^\w.-]+", "_", self.project.name).lstrip(".")[:60] or "project"
        return inside(self.folder, "exchange", f"{name}-{check_id(edit_id, 'edit id')}-{frame_name(frame)}")

    def import_keyframe_image(self, edit_id: str, frame: int, file: str | os.PathLike[str]) -> Path:
        """Read an image an external editor saved and store it as the keyframe's edited image."""
        try:
            return self.write_keyframe_image(edit_id, frame, read_png(file, grey=False))
        except FileError as exc:
            raise ProjectError(str(exc)) from exc
