"""Keyframe previews and the external image editor round trip.

``KeyframeController.preview(frame)`` sends ``edit_keyframe`` for the selected edit's keyframe (image mode
of the vivid engine, a spatial/temporal fill for the flow engine); the result becomes the keyframe's
edited image, shown before/after. ``edit_externally(frame)`` writes the keyframe (edited image, else the
source frame) to a PNG, opens it in the user's image editor and watches the file: every save in the
editor re-imports it (``QFileSystemWatcher``; editors that save by writing a new file and renaming it are
handled by re-adding the path).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QFileSystemWatcher, QObject, QProcess, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage

from vivid_desktop.core.files import read_png, write_png
from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.render_plan import compose_layers
from vivid_desktop.core.results import layers_below
from vivid_desktop.protocol.jobs import EditKeyframeRequest
from vivid_desktop.qt.images import qimage_from_rgb
from vivid_desktop.qt.model_manager import vivid_engine_settings
from vivid_desktop.qt.runtime_bridge import QtJob, QtRuntime
from vivid_desktop.qt.session import EditorSession
from vivid_desktop.qt.settings import AppSettings

log = logging.getLogger(__name__)

THUMB_LINES = 72


def keyframe_thumbnail(frame: np.ndarray, mask: np.ndarray | None, edited: np.ndarray | None) -> QImage:
    """A small keyframe picture: its edited image, else the frame with the mask tinted."""
    base = edited if edited is not None else frame
    h, w = base.shape[:2]
    size = (max(1, round(w * THUMB_LINES / h)), THUMB_LINES)
    small = cv2.resize(np.ascontiguousarray(base), size, interpolation=cv2.INTER_AREA)
    if edited is None and mask is not None:
        m = cv2.resize(mask, size, interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255.0
        tint = np.array([255, 48, 96], np.float32)
        small = (small * (1 - 0.5 * m) + tint * 0.5 * m).astype(np.uint8)
    return qimage_from_rgb(small)


class KeyframeController(QObject):
    """Previews and external edits of the selected edit's keyframes."""

    previewState = Signal(bool, str)  # running, text
    #: frame, done, total, unit ("": nothing counted yet, e.g. loading the model), message
    previewProgress = Signal(int, float, float, str, str)
    previewCancelling = Signal(int)  # frame: a cancel was asked for; the job ends between two steps
    latentPreview = Signal(int, str, QImage)  # frame, engine, the working preview of a step (vivid: latents)
    beforeAfter = Signal(int, object, object)  # frame, before QImage, after QImage | None
    thumbnailReady = Signal(str, int, QImage)  # edit id, frame, thumbnail
    imported = Signal(int)  # a keyframe image was (re)imported
    exchanged = Signal(object, object, bool, bool)  # PNG, edits-below PNG | None, was edited, editor opened

    def __init__(
        self, session: EditorSession, runtime: QtRuntime, settings: AppSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runtime = runtime
        self.settings = settings
        self.job: QtJob | None = None
        self.preview_frame: int | None = None  # the keyframe being previewed
        #: how files are opened in the user's image editor (tests replace it); False = nothing opened
        self.open_external: Callable[[Path], object] = self._open_in_editor
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._file_changed)
        self._watched: dict[str, tuple[str, int]] = {}  # path → (edit id, frame)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(250)  # editors write in several steps: wait until they are done
        self._reload_timer.timeout.connect(self._reimport)
        self._changed: set[str] = set()

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    # ---- preview --------------------------------------------------------------------------------
    def preview(self, frame: int | None = None) -> QtJob | None:
        """Run ``edit_keyframe`` on the keyframe at ``frame`` (default: the playhead)."""
        store, edit = self.session.store, self.session.edit
        frame = self.session.frame if frame is None else frame
        if store is None or edit is None:
            self.previewState.emit(False, "Choose or create an edit first.")
            return None
        if edit.keyframe(frame) is None:
            self.previewState.emit(False, f"Frame {frame} is not a keyframe: paint its mask first.")
            return None
        if self.running:
            return self.job
        try:
            store.save(backup=False)
        except ProjectError as exc:
            self.previewState.emit(False, str(exc))
            return None
        output = store.cache_dir("previews", edit.id) / f"{frame:06d}.png"
        job = self.runtime.submit(self._request(frame, output), parent=self)
        self._follow(job, edit.id, edit.engine, frame, output)
        self.previewState.emit(True, f"Previewing keyframe {frame} with the {edit.engine} engine …")
        return job

    def _request(self, frame: int, output: Path) -> EditKeyframeRequest:
        """The selected edit's ``edit_keyframe`` for ``frame``, written to ``output``."""
        store, edit = self.session.store, self.session.edit
        assert store is not None and edit is not None
        settings = dict(edit.settings)
        settings.setdefault("cache_dir", str(store.cache_dir("flow")))
        if edit.engine == "vivid":
            for k, v in vivid_engine_settings(self.settings).items():
                settings.setdefault(k, v)
        return EditKeyframeRequest(
            source=store.project.source.path,
            frame=frame,
            mask=str(store.mask_path(edit.id, frame)),
            task=edit.task,
            caption=edit.effective_caption,
            engine=edit.engine,
            seed=edit.seed,
            settings=settings,
            output=str(output),
        )

    def _follow(self, job: QtJob, edit_id: str, engine: str, frame: int, output: Path) -> None:
        """The preview job's events as this controller's signals: steps, latents, its one ending."""
        job.progress.connect(lambda d, t, m, _e: self._progress(frame, d, t, m))
        job.counted.connect(lambda d, t, unit: self.previewProgress.emit(frame, d, t, unit, ""))
        job.previewReady.connect(lambda image: self.latentPreview.emit(frame, engine, image))
        job.succeeded.connect(
            lambda result: self._preview_done(edit_id, frame, Path(result.get("output", output)))
        )
        job.failed.connect(lambda code, msg: self.previewState.emit(False, msg))
        job.cancelled.connect(
            lambda _m: self.previewState.emit(
                False, f"Preview of keyframe {frame} cancelled; the keyframe keeps its image."
            )
        )
        job.finished.connect(lambda _t: setattr(self, "preview_frame", None))
        self.job, self.preview_frame = job, frame
        self.previewProgress.emit(frame, 0.0, 0.0, "", "starting")

    def _progress(self, frame: int, done: float, total: float, message: str) -> None:
        self.previewState.emit(True, f"{message or 'Previewing'} {done / total * 100 if total else 0:.0f} %")
        if self.job is not None and not self.job.done and message and done == 0:
            self.previewProgress.emit(frame, 0.0, 0.0, "", message)  # before the steps: loading …

    def cancel(self) -> None:
        """Stop the running preview (Cancel, Esc): the runtime stops between two steps and writes
        nothing, so the keyframe keeps the image it had; the job's ``cancelled`` ends the preview."""
        if self.running and self.job is not None:
            self.job.cancel()
            self.previewCancelling.emit(self.preview_frame if self.preview_frame is not None else -1)

    def abandon(self) -> None:
        """The project closed: stop the preview, drop its late events, forget the watched files."""
        was_running = self.running
        if self.job is not None:
            if not self.job.done:
                self.job.cancel()
            self.job.blockSignals(True)
        self.job, self.preview_frame = None, None
        self.clear_watches()
        if was_running:
            self.previewState.emit(False, "")  # its terminal event is dropped: the views go idle now

    def _preview_done(self, edit_id: str, frame: int, output: Path) -> None:
        store = self.session.store
        if store is None:
            return
        try:
            store.import_keyframe_image(edit_id, frame, output)
        except ProjectError as exc:
            self.previewState.emit(False, str(exc))
            return
        self.previewState.emit(False, f"Keyframe {frame} previewed.")
        self.imported.emit(frame)
        self.show_before_after(frame)

    # ---- before / after and thumbnails ---------------------------------------------------------
    def show_before_after(self, frame: int) -> None:
        """Load the keyframe's source frame and edited image in the background; emits ``beforeAfter``."""
        store, edit, reader = self.session.store, self.session.edit, self.session.frames.reader
        if store is None or edit is None or reader is None or edit.keyframe(frame) is None:
            return
        edit_id = edit.id

        def work():
            before = np.asarray(reader.read(frame))
            after = store.read_keyframe_image(edit_id, frame)
            return qimage_from_rgb(before), (qimage_from_rgb(after) if after is not None else None)

        self.session.pool.run(
            work, on_result=lambda ba: self.beforeAfter.emit(frame, ba[0], ba[1]), name="before-after"
        )

    def load_thumbnails(self) -> None:
        """Thumbnails of every keyframe of the selected edit (background)."""
        store, edit, reader = self.session.store, self.session.edit, self.session.frames.reader
        if store is None or edit is None or reader is None:
            return
        edit_id = edit.id
        frames = [k.frame for k in edit.keyframes]

        def work():
            for f in frames:
                try:
                    frame = np.asarray(reader.read(f))
                    yield (
                        f,
                        keyframe_thumbnail(
                            frame, store.read_mask(edit_id, f), store.read_keyframe_image(edit_id, f)
                        ),
                    )
                except (ProjectError, OSError) as exc:
                    log.info("no thumbnail for keyframe %d: %s", f, exc)

        self.session.pool.run(
            work, on_yield=lambda ft: self.thumbnailReady.emit(edit_id, ft[0], ft[1]), name="thumbs"
        )

    # ---- external editor ------------------------------------------------------------------------
    def exchange_path(self, edit_id: str, frame: int) -> Path:
        store = self.session.store
        assert store is not None
        return store.exchange_file(edit_id, frame)

    def edit_externally(self, frame: int | None = None) -> Path | None:
        """Write the keyframe as PNG (in the background), open it in the image editor and re-import every
        save; ``exchanged`` then tells what was written and whether an editor opened. Also writes
        ``…-below.png``, the edits below this one at that frame, when there are any (for reference: the
        keyframe is edited from the source frame, which is what the engines read). Returns the path."""
        store, edit, reader = self.session.store, self.session.edit, self.session.frames.reader
        frame = self.session.frame if frame is None else frame
        if store is None or edit is None or reader is None or edit.keyframe(frame) is None:
            self.previewState.emit(False, "Select a keyframe to edit in an image editor.")
            return None
        edit_id, path = edit.id, self.exchange_path(edit.id, frame)
        below = path.with_name(path.stem + "-below.png")

        def work() -> tuple[Path, Path | None, bool]:  # worker thread: decode and PNG encode take a while
            image = store.read_keyframe_image(edit_id, frame)
            source = np.asarray(reader.read(frame))
            edited = image is not None
            write_png(path, np.ascontiguousarray(source if image is None else image))
            lower = layers_below(store, edit_id, frame)
            if not lower:
                below.unlink(missing_ok=True)
                return path, None, edited
            composed = compose_layers(source, [read_png(p, grey=False) for p in lower])
            write_png(below, np.ascontiguousarray(composed))
            return path, below, edited

        def written(result: tuple[Path, Path | None, bool]) -> None:
            if self.session.store is not store:
                return  # the project was closed meanwhile
            self.watch(path, edit_id, frame)
            opened = self.open_external(path) is not False
            self.exchanged.emit(path, result[1], result[2], opened)
            self.previewState.emit(
                False, f"Editing {path.name} externally: save it there and it comes back here."
            )

        def failed(exc: BaseException) -> None:
            self.previewState.emit(False, f"Could not write {path.name} for the image editor: {exc}")

        self.session.pool.run(work, on_result=written, on_error=failed, name="exchange")
        return path

    def _open_in_editor(self, path: Path) -> bool:
        """The image editor from the settings, else the system's application for PNG files."""
        program = str(self.settings.get("external/image_editor") or "").strip()
        if program:
            return bool(QProcess.startDetached(program, [str(path)]))
        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))

    def watch(self, path: Path, edit_id: str, frame: int) -> None:
        key = str(path)
        self._watched[key] = (edit_id, frame)
        if key not in self.watcher.files():
            self.watcher.addPath(key)

    def import_file(self, path: Path, frame: int | None = None) -> bool:
        """Use an image file as the edited keyframe (Import… in the panel)."""
        store, edit = self.session.store, self.session.edit
        frame = self.session.frame if frame is None else frame
        if store is None or edit is None or edit.keyframe(frame) is None:
            return False
        return self._import(edit.id, frame, path)

    def _import(self, edit_id: str, frame: int, path: Path) -> bool:
        store = self.session.store
        if store is None:
            return False
        try:
            store.import_keyframe_image(edit_id, frame, path)
        except ProjectError as exc:
            self.previewState.emit(False, f"Could not import {path.name}: {exc}")
            return False
        self.previewState.emit(False, f"Imported the edited keyframe {frame} from {path.name}.")
        self.imported.emit(frame)
        if edit_id == self.session.edit_id:
            self.show_before_after(frame)
        return True

    def _file_changed(self, path: str) -> None:
        self._changed.add(path)
        self._reload_timer.start()

    def _reimport(self) -> None:
        for path in sorted(self._changed):
            target = self._watched.get(path)
            if Path(path).is_file() and path not in self.watcher.files():
                self.watcher.addPath(path)  # saved by rename: watch the new file
            if target is not None and Path(path).is_file():
                self._import(target[0], target[1], Path(path))
        self._changed.clear()

    def clear_watches(self) -> None:
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self._watched.clear()
