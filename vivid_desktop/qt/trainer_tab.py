"""The trainer tab: fine-tune a personal LoRA on the project or a dataset, watch it learn, use it.

Left: the data (current project, a folder of clips with masks and captions, or VIVID-10M-style records)
as a table of samples with thumbnails and problems flagged, and the settings (the preset for the
runtime's GPU, the CPU one without, fills them; the variant, standard or KIVE). Right: the model and
output, Start / Stop / Resume, the live loss plot (loss, its average, val_loss), validation renders
by step, the checkpoints, and "Use this LoRA", which emits :attr:`TrainerTab.useLora` (the main window
adds the LoRA to the current edit's settings; see :func:`add_lora_to_edit`).

The tab renders state and sends intents: scanning and file reads run on worker threads, training runs
in the runtime (:class:`~vivid_desktop.qt.trainer_run.TrainerController`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.datasets import DatasetSummary, SampleRow, scan_dataset
from vivid_desktop.protocol.jobs import TrainRequest
from vivid_desktop.qt.runtime_bridge import QtRuntime
from vivid_desktop.qt.style import icon
from vivid_desktop.qt.trainer_run import CheckpointInfo, TrainerController, lora_adapter_of
from vivid_desktop.qt.trainer_settings import TrainSettingsForm
from vivid_desktop.qt.trainer_widgets import CheckpointList, LossPlot, RenderGallery, SampleTable
from vivid_desktop.qt.workers import Job, MainThreadRelay, WorkerPool
from vivid_desktop.train_presets import CPU_PRESET, gpu_memory_gb, preset_for_memory

SOURCES = (("project", "Current project"), ("folder", "Folder of clips…"), ("records", "VIVID-10M records…"))


def add_lora_to_edit(project: Any, edit_id: str, path: str, weight: float) -> None:
    """Put a LoRA into an edit's ``settings["loras"]`` (replacing the same file), one undoable change.

    ``project`` is a :class:`vivid_desktop.core.project.Project`; the vivid engine reads the list as
    ``[{"path", "weight", "name"}]`` (model_runtime/vivid/settings.py).
    """
    edit = project.edit(edit_id)
    loras = [entry for entry in edit.settings.get("loras", []) if _lora_path(entry) != path]
    loras.append({"path": path, "weight": float(weight), "name": Path(path).stem})
    project.set_edit_setting(edit_id, "loras", loras)


def _lora_path(entry: object) -> str:
    return str(entry.get("path", "")) if isinstance(entry, dict) else str(entry)


class TrainerTab(QWidget):
    """See the module docstring. Call :meth:`shutdown` before the window closes."""

    useLora = Signal(str, float)  # LoRA file, weight: add it to the current edit
    useModel = Signal(str)  # a trained adapter model folder (base lacked mask inputs): use it as the model

    def __init__(self, runtime: QtRuntime, relay: MainThreadRelay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainerTab")
        self.runtime = runtime
        self.controller = TrainerController(runtime, relay, self)
        self._pool = WorkerPool(relay, max_workers=1, name="vivid-trainer-scan")
        self._scan_job: Job | None = None
        self._scan_cancel: threading.Event | None = None
        self.summary: DatasetSummary | None = None
        self.project_folder: str | None = None
        self.dataset_path = ""
        self._auto_output = ""  # the LoRA path the tab chose itself (replaced when the data changes)
        self._gpu_preset_done = False
        #: asked before Start throws away an earlier run's checkpoints (tests replace it)
        self.confirm_start_over: Callable[[], bool] = self._ask_start_over
        self._rescan_timer = QTimer(self, singleShot=True, interval=400)
        self._rescan_timer.timeout.connect(self.rescan)
        self._build()
        self._connect()
        if runtime.facts is not None:
            self._on_facts(runtime.facts)
        self._update_buttons()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self._build_left())
        split.addWidget(self._build_right())
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 540])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)

    def _build_left(self) -> QWidget:
        left = QWidget()
        col = QVBoxLayout(left)
        col.setContentsMargins(0, 0, 0, 0)
        data = QGroupBox("Data")
        dcol = QVBoxLayout(data)
        row = QHBoxLayout()
        self.source = QComboBox()
        self.source.setObjectName("sourceCombo")
        for key, label in SOURCES:
            self.source.addItem(label, key)
        self.path_label = QLineEdit()
        self.path_label.setReadOnly(True)
        self.path_label.setPlaceholderText("choose the training data")
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setToolTip("Read the samples again (after you fixed a file)")
        row.addWidget(self.source)
        row.addWidget(self.path_label, 1)
        row.addWidget(self.rescan_button)
        dcol.addLayout(row)
        self.table = SampleTable()
        dcol.addWidget(self.table, 1)
        self.data_summary = QLabel("No data chosen.")
        self.data_summary.setObjectName("dataSummary")
        self.data_summary.setWordWrap(True)
        dcol.addWidget(self.data_summary)
        col.addWidget(data, 3)
        self.settings = TrainSettingsForm()
        col.addWidget(self.settings, 2)
        return left

    def _build_right(self) -> QWidget:
        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        run = QGroupBox("Run")
        form = QFormLayout(run)
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("the model folder to fine-tune (Models → Model manager)")
        model_browse = QPushButton("…")
        model_browse.clicked.connect(self._browse_model)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("where the LoRA is written (.safetensors)")
        output_browse = QPushButton("…")
        output_browse.clicked.connect(self._browse_output)
        form.addRow("Model", _with_button(self.model_edit, model_browse))
        form.addRow("LoRA file", _with_button(self.output_edit, output_browse))
        buttons = QHBoxLayout()
        self.start_button = QPushButton(icon("play"), "Start")
        self.start_button.setObjectName("primary")
        self.stop_button = QPushButton(icon("cancel"), "Stop")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue from the newest checkpoint")
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        self.progress = QProgressBar()
        self.progress.setFormat("")
        form.addRow(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("trainStatus")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        col.addWidget(run)
        self.plot = LossPlot()
        col.addWidget(_titled("Loss", self.plot), 3)
        self.gallery = RenderGallery()
        col.addWidget(_titled("Validation renders", self.gallery), 3)
        self.checkpoint_list = CheckpointList()
        self.checkpoint_list.setMaximumHeight(110)
        self.checkpoint_list.set_checkpoints([])
        col.addWidget(_titled("Checkpoints", self.checkpoint_list), 1)
        use = QHBoxLayout()
        self.weight = QDoubleSpinBox()
        self.weight.setRange(0.0, 2.0)
        self.weight.setSingleStep(0.05)
        self.weight.setValue(1.0)
        self.weight.setPrefix("weight ")
        self.use_button = QPushButton("Use this LoRA")
        self.use_button.setToolTip("Add the trained LoRA to the current edit's settings")
        use.addStretch(1)
        use.addWidget(self.weight)
        use.addWidget(self.use_button)
        col.addLayout(use)
        return right

    def _connect(self) -> None:
        c = self.controller
        self.source.activated.connect(self._source_chosen)
        self.rescan_button.clicked.connect(self.rescan)
        self.settings.num_frames.valueChanged.connect(lambda _v: self._rescan_timer.start())
        self.settings.changed.connect(self._update_buttons)
        self.model_edit.textChanged.connect(self._update_buttons)
        self.output_edit.textChanged.connect(self._update_buttons)
        self.output_edit.editingFinished.connect(self._show_earlier_run)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(c.stop)
        self.resume_button.clicked.connect(self.resume)
        self.use_button.clicked.connect(self.use_lora)
        c.stateChanged.connect(self._on_state)
        c.progressChanged.connect(self._on_progress)
        c.lossReset.connect(self.plot.reset)
        c.lossAdded.connect(self.plot.add_points)
        c.validationAdded.connect(self.gallery.add_render)
        c.checkpointsChanged.connect(self._on_checkpoints)
        c.loraChanged.connect(lambda _p: self._update_buttons())
        c.problemsReported.connect(self._on_problems)
        self.runtime.factsReady.connect(self._on_facts)

    # ---- intents from the main window -----------------------------------------------------------
    def set_project(self, folder: str | None) -> None:
        """The open project's folder (the "Current project" data source), or None."""
        self.project_folder = folder
        if self.source.currentData() == "project":
            self.set_dataset(folder or "", "project")

    def set_model(self, path: str) -> None:
        """The model folder to fine-tune (e.g. the model manager's current model)."""
        if not self.controller.running:
            self.model_edit.setText(path)

    def set_gpu_memory(self, memory_gb: float | None) -> None:
        """Pick the preset that fits this much GPU memory."""
        self.settings.apply_preset(preset_for_memory(memory_gb).name)

    def set_dataset(self, path: str, source: str = "folder") -> None:
        """Use ``path`` as the training data and read its samples (in the background)."""
        self.source.setCurrentIndex(self.source.findData(source))
        self.dataset_path = path
        self.path_label.setText(path)
        if path and self.output_edit.text() in ("", self._auto_output):
            self._auto_output = str(default_output(Path(path), source))
            self.output_edit.setText(self._auto_output)
        self.rescan()
        self._show_earlier_run()

    def rescan(self) -> None:
        """Read the samples of the chosen data again; rows stream into the table."""
        if self._scan_cancel is not None:
            self._scan_cancel.set()
        self.table.clear_rows()
        self.summary = None
        self._update_buttons()
        if not self.dataset_path:
            self.data_summary.setText("No data chosen.")
            return
        self.data_summary.setText("Reading the samples …")
        cancel = threading.Event()
        self._scan_cancel = cancel
        frames = self.settings.num_frames.value()
        self._scan_job = self._pool.run(
            scan_dataset, self.dataset_path, frames, cancel.is_set, cancel=cancel,
            on_yield=self._on_sample, on_result=self._on_scanned, on_error=self._on_scan_error,
        )  # fmt: skip

    # ---- training -------------------------------------------------------------------------------
    def request(self) -> TrainRequest:
        """The ``train`` request the tab's fields describe."""
        return TrainRequest(data=self.dataset_path, model=self.model_edit.text().strip(),
                            output=self.output_edit.text().strip(), **self.settings.values())  # fmt: skip

    def start(self) -> None:
        """Train from step 0 (after confirming that an earlier run's checkpoints may go)."""
        if not self._can_start():
            return
        if self.controller.checkpoints and not self.confirm_start_over():
            return
        self.controller.start(self.request(), resume=False)

    def resume(self) -> None:
        if self._can_start() and self.controller.can_resume():
            self.controller.start(self.request(), resume=True)

    def use_lora(self) -> None:
        """Hand the finished LoRA to the main window (or its adapter model when it has one)."""
        lora = self.controller.lora
        if not lora:
            return
        adapter = lora_adapter_of(lora)
        if adapter is not None:
            self.useModel.emit(str(adapter))
        else:
            self.useLora.emit(lora, self.weight.value())
        self.status.setText(f"{Path(lora).name} added to the current edit.")

    def shutdown(self) -> None:
        """Stop the scan and any running job; join the worker threads."""
        if self._scan_cancel is not None:
            self._scan_cancel.set()
        self._rescan_timer.stop()
        self.controller.shutdown()
        self._pool.shutdown()

    # ---- slots ----------------------------------------------------------------------------------
    def _source_chosen(self, _index: int) -> None:
        source = self.source.currentData()
        if source == "project":
            self.set_dataset(self.project_folder or "", "project")
        elif source == "folder":
            path = QFileDialog.getExistingDirectory(self, "Training data: a folder of clips with masks")
            if path:
                self.set_dataset(path, "folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "VIVID-10M records", "", "Records (*.jsonl)")
            if path:
                self.set_dataset(path, "records")

    def _browse_model(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder to fine-tune")
        if path:
            self.model_edit.setText(path)

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Write the LoRA to", self.output_edit.text(), "LoRA (*.safetensors)"
        )
        if path:
            self.output_edit.setText(path if path.endswith(".safetensors") else path + ".safetensors")
            self._show_earlier_run()

    def _show_earlier_run(self) -> None:
        if self.output_edit.text().strip() and not self.controller.running:
            with contextlib.suppress(ValueError):  # the form does not describe a valid request yet
                self.controller.show_run(self.request())

    def _on_sample(self, row: SampleRow) -> None:
        self.table.add_row(row)

    def _on_scanned(self, summary: DatasetSummary | None) -> None:
        self.summary = summary
        if summary is not None:
            self.data_summary.setText(describe(summary))
        self._update_buttons()

    def _on_scan_error(self, exc: BaseException) -> None:
        self.data_summary.setText(f"The data cannot be read: {exc}")

    def _on_problems(self, problems: list[tuple[str, str]]) -> None:
        self.table.flag(problems)
        self.data_summary.setText(
            f"The runtime refused the data: {len(problems)} problem(s), flagged in the table."
        )

    def _on_facts(self, facts: Any) -> None:
        # once: a runtime restart must not undo settings the user has changed since
        if facts is not None and not self._gpu_preset_done and not self.controller.running:
            self._gpu_preset_done = True
            gpus = list(getattr(facts, "gpus", []))
            if gpus:
                self.set_gpu_memory(gpu_memory_gb(gpus))
            else:  # a CPU machine: a GPU preset would only mislead
                self.settings.apply_preset(CPU_PRESET.name)

    def _on_state(self, state: str, text: str) -> None:
        if text:
            self.status.setText(text)
        self.settings.set_running(self.controller.running)
        if state == "finished":
            self.progress.setValue(self.progress.maximum())
        self._update_buttons()

    def _on_progress(self, step: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(step)
        self.progress.setFormat(f"step {step} / {total}" if step else "preparing")

    def _on_checkpoints(self, checkpoints: list[CheckpointInfo]) -> None:
        self.checkpoint_list.set_checkpoints(checkpoints)
        self._update_buttons()

    def _can_start(self) -> bool:
        return (
            not self.controller.running
            and self.summary is not None
            and self.summary.ok
            and bool(self.model_edit.text().strip())
            and self.output_edit.text().strip().endswith(".safetensors")
        )

    def _update_buttons(self) -> None:
        running = self.controller.running
        self.start_button.setEnabled(self._can_start())
        self.stop_button.setEnabled(self.controller.state == "running")
        self.resume_button.setEnabled(self._can_start() and self.controller.can_resume())
        self.use_button.setEnabled(not running and bool(self.controller.lora))
        self.source.setEnabled(not running)
        self.rescan_button.setEnabled(not running)
        if self.summary is not None and not self.summary.ok:
            self.start_button.setToolTip("Fix the samples flagged in red first")
        else:
            self.start_button.setToolTip("Train from step 0")

    def _ask_start_over(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Start over?",
            "This LoRA already has checkpoints. Starting over deletes them, with the loss log and the "
            "validation renders. Use Resume to continue instead.",
        )
        return answer == QMessageBox.StandardButton.Yes


def describe(summary: DatasetSummary) -> str:
    """The summary line under the sample table; its first count is the table's row count."""
    kinds = f"{_count(summary.videos, 'video')}, {_count(summary.images, 'image')}"
    rows = summary.samples + summary.validation + summary.problems
    parts = f"{_count(rows, 'row')}: {summary.samples} for training ({kinds})"
    if summary.validation:
        parts += f", {summary.validation} for validation"
    if summary.problems:
        return f"{parts} · {summary.problems} with problems: fix them to train."
    if not summary.samples:
        return "No samples to train on."
    return parts + " · ready."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def default_output(data: Path, source: str) -> Path:
    """Where a new LoRA goes: in the project's ``loras`` folder, else beside the data."""
    if source == "project":
        return data / "loras" / f"{data.name.removesuffix('.vivid')}-lora.safetensors"
    return data.parent / f"{data.stem}-lora.safetensors"


def _with_button(edit: QLineEdit, button: QPushButton) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return box


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QGroupBox(title)
    col = QVBoxLayout(box)
    col.setContentsMargins(4, 4, 4, 4)
    col.addWidget(widget)
    return box
