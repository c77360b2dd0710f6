"""Mask → Import masks: a grey mask video or a folder of per-frame PNGs onto the selected edit (menu actions,
or dropped on the window). Decoding runs on a worker thread; the project changes on the UI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from vivid_desktop.core import mask_import
from vivid_desktop.core.project import ProjectError
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.qt.session import EditorSession

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}


def looks_like_mask_video(path: str | Path) -> bool:
    """A video whose first frame is grey and nearly all black or white: a mask, not a clip to open."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        return False
    try:
        with FrameReader(path) as reader:
            first = next(iter(reader.iter_frames(0, 1)))
    except Exception:  # not a readable video: let the caller open it and report the real error
        return False
    return mask_import.is_mask_picture(first)


def stage(store, edit_id: str, path: Path) -> mask_import.Staged:
    """Decode (a video) or read (a folder) and stage the masks; on a worker thread."""
    if path.is_dir():
        return mask_import.stage_masks(store, edit_id, path)
    try:
        with FrameReader(path) as reader:
            return mask_import.stage_masks(store, edit_id, reader.iter_frames(0, reader.frame_count))
    except MediaError as exc:
        raise ProjectError(f"cannot read the mask video: {exc}") from None


class MaskImporter(QObject):
    """Imports masks made elsewhere as the selected edit's tracked masks (a new delete edit if none)."""

    message = Signal(str)
    imported = Signal(str, int, int)  # edit id, start, stop

    def __init__(self, session: EditorSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.busy = False

    def accepts_drop(self, path: str | Path) -> bool:
        """A dropped folder of numbered PNGs, or a grey black-and-white video, while a project is open."""
        path = Path(path)
        if self.session.store is None:
            return False
        if path.is_dir():
            return any(mask_import._NUMBERED_PNG.fullmatch(p.name) for p in path.iterdir())
        return looks_like_mask_video(path)

    def _parent_widget(self) -> QWidget | None:
        parent = self.parent()
        return parent if isinstance(parent, QWidget) else None

    def choose_video(self) -> None:
        parent = self._parent_widget()
        videos = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(parent, "Import a mask video", "", f"Mask videos ({videos})")
        if path:
            self.import_path(path)

    def choose_folder(self) -> None:
        parent = self._parent_widget()
        path = QFileDialog.getExistingDirectory(parent, "Import a folder of per-frame masks")
        if path:
            self.import_path(path)

    def import_path(self, path: str | Path) -> None:
        s = self.session
        if s.store is None:
            self.message.emit("Open a clip first: masks are imported onto one of its edits.")
            return
        if self.busy:
            return
        if s.edit is None:
            s.new_edit("delete")
        store, edit_id, name = s.store, s.edit_id, Path(path).name
        assert edit_id is not None
        self.busy = True
        self.message.emit(f"Importing masks from {name} …")

        def adopt(staged: mask_import.Staged) -> None:
            try:
                start, stop = mask_import.adopt_masks(store, edit_id, staged)
            except (ProjectError, OSError) as exc:
                return self.message.emit(f"Could not import {name}: {exc}")
            self.message.emit(f"Imported masks of frames {start}–{stop - 1} from {name}.")
            self.imported.emit(edit_id, start, stop)

        s.pool.run(
            stage,
            store,
            edit_id,
            Path(path),
            on_result=adopt,
            on_error=lambda exc: self.message.emit(f"Could not import {name}: {exc}"),
            on_finally=self._done,
            name="import-masks",
        )

    def _done(self) -> None:
        self.busy = False
