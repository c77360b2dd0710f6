"""The Export dialog: presets, range, audio, progress with cancel, and "open folder" when done.

The export runs in a worker thread (``media.export_project`` / ``export_masks``); progress comes back
through the relay at most every 50 ms, so a fast encoder never floods the UI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.core.results import EditRangeStatus, frame_spans, range_status
from vivid_desktop.core.store import ProjectStore
from vivid_desktop.media.errors import MediaCancelled, MediaError
from vivid_desktop.media.export import export_masks
from vivid_desktop.media.export_formats import QUALITY_PRESETS
from vivid_desktop.media.export_project import edit_masks, export_project
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.qt.session import EditorSession
from vivid_desktop.qt.settings import AppSettings
from vivid_desktop.qt.workers import Job


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    format: str
    suffix: str  # "" = a folder
    kind: str = "video"  # video / mask / matte


PRESETS = (
    Preset("h264", "H.264 MP4", "h264", ".mp4"),
    Preset("h265", "H.265 MP4", "h265", ".mp4"),
    Preset("prores", "ProRes 422 HQ MOV", "prores", ".mov"),
    Preset("ffv1", "FFV1 MKV (lossless)", "ffv1", ".mkv"),
    Preset("png", "PNG sequence (folder)", "png", ""),
    Preset("mask", "Mask sequence, FFV1 MKV", "ffv1", ".mkv", "mask"),
    Preset("mask_png", "Mask sequence, PNG folder", "png", "", "mask"),
    Preset("matte", "Matte (source + alpha), ProRes 4444 MOV", "prores", ".mov", "matte"),
)


def run_export(
    store: ProjectStore,
    preset: Preset,
    out: Path,
    start: int,
    stop: int,
    *,
    quality: str,
    audio: bool,
    edit_id: str | None,
    progress: Callable[[int, int | None], None],
    cancel: Callable[[], bool],
) -> Path:
    """Worker thread: export frames ``[start, stop)`` of the project (or of the edit's masks).

    The exporters write under a temporary name and rename at the end, so a cancelled or failed export
    leaves nothing behind (a PNG folder included: it is created by that final rename).
    """
    if preset.kind == "video":
        return export_project(
            store,
            out,
            start=start,
            stop=stop,
            format=preset.format,
            quality=quality,
            audio=audio,
            progress=progress,
            cancel=cancel,
        )
    src = store.project.source
    masks = edit_masks(store, edit_id, start, stop)

    def export(kind: str, frames: Iterable[np.ndarray] | None = None) -> Path:
        return export_masks(
            masks, out, kind=kind, frames=frames, rate=src.rate, format=preset.format, total=stop - start,
            progress=progress, cancel=cancel,
        )  # fmt: skip

    if preset.kind == "mask":
        return export("mask")
    index = FrameIndex.open(src.path, folder=store.cache_dir("index"))
    with FrameReader(src.path, index=index, cache_bytes=0) as reader:
        return export("matte", reader.iter_frames(start, stop))


@dataclass(frozen=True)
class _ExportJob:
    """What Export was pressed with (the form is disabled while it runs)."""

    store: ProjectStore
    preset: Preset
    out: Path
    start: int
    stop: int
    quality: str
    audio: bool
    edit_id: str | None


class QtExportDialog(QDialog):
    """Export the project (or the selected edit's masks)."""

    def __init__(self, session: EditorSession, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setObjectName("exportDialog")
        self.setMinimumWidth(520)
        self.session = session
        self.settings = settings
        self.job: Job | None = None
        self.result_path: Path | None = None
        self.error: str | None = None
        #: how a finished export's folder is shown (tests replace it)
        self.open_folder: Callable[[Path], object] = lambda p: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(p))
        )
        self._cancel = threading.Event()
        self._running = False
        self.question: QMessageBox | None = None  # an open "replace?" / "not rendered" question
        self._build()
        self._load_defaults()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QVBoxLayout(self)
        form = QFormLayout()
        self.preset = QComboBox()
        for p in PRESETS:
            self.preset.addItem(p.label, p.key)
        self.quality = QComboBox()
        for q in QUALITY_PRESETS:
            self.quality.addItem(q.capitalize(), q)
        self.range = QComboBox()
        self.range.addItem("In to out marks", "marks")
        self.range.addItem("Whole clip", "all")
        self.range.addItem("Custom", "custom")
        self.start = QSpinBox()
        self.stop = QSpinBox()
        range_row = QHBoxLayout()
        range_row.addWidget(self.range, 1)
        range_row.addWidget(QLabel("from"))
        range_row.addWidget(self.start)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.stop)
        self.audio = QCheckBox("Carry the source's audio over")
        self.audio.setChecked(True)
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form.addRow("Preset", self.preset)
        form.addRow("Quality", self.quality)
        form.addRow("Range", range_row)
        form.addRow("", self.audio)
        form.addRow("Output", path_row)
        col.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        col.addWidget(self.progress)
        col.addWidget(self.status)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open folder")
        self.open_button.setVisible(False)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("primary")
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        for b in (self.export_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        col.addLayout(buttons)
        self.cancel_button.setEnabled(False)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.range.currentIndexChanged.connect(self._range_changed)
        browse.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        self.close_button.clicked.connect(self.close)
        self.open_button.clicked.connect(
            lambda: self.result_path and self.open_folder(self._folder_of(self.result_path))
        )

    def _load_defaults(self) -> None:
        store = self.session.store
        src = store.project.source if store else None
        count = src.frame_count if src else 1
        for spin in (self.start, self.stop):
            spin.setRange(0, max(0, count - 1))
        if src is not None:
            self.start.setValue(src.in_frame)
            self.stop.setValue(src.stop - 1)
        has_marks = src is not None and (src.in_frame > 0 or src.out_frame is not None)
        self.range.setCurrentIndex(0 if has_marks else 1)
        key = self.settings.get("export/preset")
        idx = self.preset.findData(key)
        self.preset.setCurrentIndex(max(0, idx))
        self.quality.setCurrentIndex(self.quality.findData("standard"))
        self._range_changed()
        self._preset_changed()

    @property
    def current_preset(self) -> Preset:
        return next(p for p in PRESETS if p.key == self.preset.currentData())

    def _default_out(self, preset: Preset) -> Path:
        store = self.session.store
        name = store.project.name if store else "export"
        folder = Path(
            self.settings.get("export/last_folder") or (store.folder.parent if store else Path.home())
        )
        tail = {"mask": "-mask", "matte": "-matte"}.get(preset.kind, "-edited")
        return folder / f"{name}{tail}{preset.suffix}"

    def _preset_changed(self) -> None:
        preset = self.current_preset
        self.audio.setEnabled(preset.kind == "video" and preset.suffix != "")
        self.quality.setEnabled(preset.format in ("h264", "h265", "prores"))
        self.path.setText(str(self._default_out(preset)))

    def _range_changed(self) -> None:
        custom = self.range.currentData() == "custom"
        self.start.setEnabled(custom)
        self.stop.setEnabled(custom)

    def _browse(self) -> None:
        preset = self.current_preset
        if preset.suffix == "":
            chosen = QFileDialog.getExistingDirectory(
                self, "Export into folder", str(Path(self.path.text()).parent)
            )
        else:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), f"*{preset.suffix}")
        if chosen:
            self.path.setText(chosen)

    def frame_range(self) -> tuple[int, int]:
        store = self.session.store
        assert store is not None  # the dialog opens only with a project
        src = store.project.source
        mode = self.range.currentData()
        if mode == "all":
            return 0, src.frame_count
        if mode == "custom":
            a, b = sorted((self.start.value(), self.stop.value()))
            return a, b + 1
        return src.in_frame, src.stop

    @staticmethod
    def _folder_of(path: Path) -> Path:
        return path if path.is_dir() else path.parent

    # ---- running --------------------------------------------------------------------------------
    def start_export(self) -> None:
        """Export: ask before replacing a file, warn about frames not rendered or stale, then run."""
        store = self.session.store
        if store is None or self._running:
            return
        preset = self.current_preset
        out = Path(self.path.text()).expanduser()
        if preset.suffix and out.suffix.lower() != preset.suffix:
            out = out.with_suffix(preset.suffix)
            self.path.setText(str(out))
        start, stop = self.frame_range()
        self.settings.set("export/preset", preset.key)
        self.settings.set("export/last_folder", str(out.parent))
        job = _ExportJob(
            store, preset, out, start, stop,
            quality=self.quality.currentData(),
            audio=self.audio.isChecked() and self.audio.isEnabled(),  # read before the form is disabled
            edit_id=self.session.edit_id,
        )  # fmt: skip
        self._cancel = threading.Event()
        self.result_path, self.error = None, None
        self._set_running(True)
        if out.exists():
            what = "folder" if out.is_dir() else "file"
            self._ask(
                f"Replace {out.name}?",
                f"The {what} {out} already exists. Exporting replaces it.",
                "Replace",
                lambda: self._check_range(job),
            )
        else:
            self._check_range(job)

    def _check_range(self, job: _ExportJob) -> None:
        if job.preset.kind != "video":  # masks do not depend on renders
            self._begin(job)
            return
        self.status.setText("Checking the rendered frames …")
        self.session.pool.run(
            range_status, job.store, job.start, job.stop,
            on_result=lambda problems: self._checked(job, problems),
            on_error=self._failed,
            name="export-check",
        )  # fmt: skip

    def _checked(self, job: _ExportJob, problems: list[EditRangeStatus]) -> None:
        if self._cancel.is_set():
            self._failed(MediaCancelled("cancelled"))
        elif not problems:
            self._begin(job)
        else:
            lines = []
            for p in problems:
                if p.missing:
                    lines.append(f"“{p.name}”: frames {frame_spans(p.missing)} are not rendered")
                if p.stale:
                    lines.append(f"“{p.name}”: frames {frame_spans(p.stale)} are stale (changed since)")
            self._ask(
                "Not everything is rendered",
                "Frames that are not rendered export without that edit; stale frames export the old render."
                "\n\n" + "\n".join(lines),
                "Export anyway",
                lambda: self._begin(job),
            )

    def _ask(self, title: str, text: str, yes: str, then: Callable[[], None]) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("exportQuestion")
        go = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        self.question = box

        def answered(button) -> None:
            self.question = None
            if button is go and not self._cancel.is_set():
                then()
            else:
                self._set_running(False)
                self.status.setText("Export not started.")

        box.buttonClicked.connect(answered)
        box.open()

    def _begin(self, job: _ExportJob) -> None:
        self.status.setText(f"Exporting {job.stop - job.start} frames to {job.out.name} …")
        started = time.monotonic()
        last = [0.0]
        total = job.stop - job.start

        def progress(done: int, of: int | None) -> None:  # worker thread: throttle to 20 updates/s
            now = time.monotonic()
            if now - last[0] >= 0.05 or (of and done >= of):
                last[0] = now
                self.session.relay.post(self._show_progress, done, of or total, started)

        cancel = self._cancel.is_set
        self.job = self.session.pool.run(
            lambda: run_export(
                job.store, job.preset, job.out, job.start, job.stop,
                quality=job.quality, audio=job.audio, edit_id=job.edit_id,
                progress=progress, cancel=cancel,
            ),
            on_result=self._done,
            on_error=self._failed,
            name="export",
        )  # fmt: skip

    def _show_progress(self, done: int, total: int, started: float) -> None:
        fraction = done / max(1, total)
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"{done} / {total}")
        elapsed = time.monotonic() - started
        if done and elapsed > 0.5:
            left = (total - done) * elapsed / done
            self.status.setText(f"Exporting: {done / elapsed:.1f} frames/s, about {left:.0f} s left")

    def cancel_export(self) -> None:
        self._cancel.set()
        self.status.setText("Cancelling …")
        if self.question is not None:  # cancelled while asking: nothing was started
            question, self.question = self.question, None
            question.close()
            self._failed(MediaCancelled("cancelled"))

    def _done(self, path: Path) -> None:
        self.result_path = Path(path)
        self._set_running(False)
        self.progress.setValue(1000)
        self.status.setText(f"Exported to {self.result_path}")
        self.open_button.setVisible(True)

    def _failed(self, exc: BaseException) -> None:
        self._set_running(False)
        if isinstance(exc, MediaCancelled):
            self.error = "cancelled"
            self.status.setText("Export cancelled; nothing was left behind.")
            self.progress.setValue(0)
            return
        self.error = str(exc)
        known = isinstance(exc, MediaError | OSError)
        self.status.setText(f"Export failed: {exc if known else f'{type(exc).__name__}: {exc}'}")

    def _set_running(self, running: bool) -> None:
        self._running = running
        self.export_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.preset, self.quality, self.range, self.path, self.audio):
            w.setEnabled(not running)
        if not running:
            self._preset_changed_keep_path()

    def _preset_changed_keep_path(self) -> None:
        preset = self.current_preset
        self.audio.setEnabled(preset.kind == "video" and preset.suffix != "")
        self.quality.setEnabled(preset.format in ("h264", "h265", "prores"))

    @property
    def running(self) -> bool:
        """True from Export until the result (or the error) has been shown."""
        return self._running

    def closeEvent(self, event) -> None:
        if self.running:
            self._cancel.set()
        super().closeEvent(event)
