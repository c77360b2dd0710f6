"""Settings: model folders, LoRA files, memory mode, default engine, proxy options, runtime (remembered)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.qt.runtime_settings import QtRuntimeSettings
from vivid_desktop.qt.settings import ENGINES, MEMORY_MODE_LABELS, MEMORY_MODES, AppSettings


class _PathList(QWidget):
    """A list of paths with Add… and Remove."""

    def __init__(self, pick, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pick = pick
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        row.addWidget(self.list, 1)
        col = QVBoxLayout()
        add, remove = QPushButton("Add…"), QPushButton("Remove")
        col.addWidget(add)
        col.addWidget(remove)
        col.addStretch(1)
        row.addLayout(col)
        add.clicked.connect(self._add)
        remove.clicked.connect(
            lambda: [self.list.takeItem(self.list.row(i)) for i in self.list.selectedItems()]
        )

    def _add(self) -> None:
        for path in self._pick():
            if path and not self.list.findItems(path, Qt.MatchFlag.MatchExactly):
                self.list.addItem(path)

    def paths(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_paths(self, paths: list[str]) -> None:
        self.list.clear()
        self.list.addItems(paths)


class QtSettingsDialog(QDialog):
    """Edits ``AppSettings``; OK stores them (QSettings) and they apply to the next job."""

    modelsRequested = Signal()

    def __init__(
        self, settings: AppSettings, parent: QWidget | None = None, has_gpu: bool | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.setMinimumWidth(560)
        self.settings = settings
        col = QVBoxLayout(self)
        models = QGroupBox("VIVID models")
        form = QFormLayout(models)
        self.model_dirs = _PathList(self._pick_folder)
        self.loras = _PathList(self._pick_loras)
        self.memory = QComboBox()
        for mode in MEMORY_MODES:
            self.memory.addItem(MEMORY_MODE_LABELS[mode], mode)
        form.addRow("Model folders", self.model_dirs)
        form.addRow("LoRA files", self.loras)
        form.addRow("Memory mode", self.memory)
        form.setRowVisible(self.memory, has_gpu is not False)  # GPU memory modes mean nothing on a CPU
        manager = QPushButton("Model manager…")
        manager.setToolTip("See the models and LoRAs found in these folders and choose the one to use")
        manager.clicked.connect(self._open_manager)
        form.addRow("", manager)
        col.addWidget(models)
        general = QGroupBox("Editing")
        form2 = QFormLayout(general)
        self.engine = QComboBox()
        for engine in ENGINES:
            self.engine.addItem(engine, engine)
        self.proxy = QCheckBox("Build a proxy for smooth scrubbing")
        self.proxy_lines = QSpinBox()
        self.proxy_lines.setRange(144, 1080)
        self.proxy_lines.setSingleStep(36)
        self.proxy_lines.setSuffix(" lines")
        self.image_editor = QLineEdit()
        self.image_editor.setPlaceholderText("the system's application for PNG files")
        self.image_editor.setToolTip("The program Ctrl+Shift+E opens keyframes in (e.g. gimp, krita)")
        pick_editor = QPushButton("Choose…")
        pick_editor.clicked.connect(self._pick_editor)
        editor_row = QHBoxLayout()
        editor_row.addWidget(self.image_editor, 1)
        editor_row.addWidget(pick_editor)
        form2.addRow("Default engine", self.engine)
        form2.addRow("Image editor", editor_row)
        self.confirm_plan = QCheckBox("Show the plan (frames, time, disk) before Propagate")
        form2.addRow("", self.confirm_plan)
        form2.addRow("", self.proxy)
        form2.addRow("Proxy height", self.proxy_lines)
        col.addWidget(general)
        self.runtime = QtRuntimeSettings(settings)
        col.addWidget(self.runtime)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        self.load()

    def _open_manager(self) -> None:
        self.store()  # the manager starts from what is in this dialog
        self.modelsRequested.emit()
        self.accept()

    def _pick_folder(self) -> list[str]:
        folder = QFileDialog.getExistingDirectory(self, "Model folder (diffusers layout)")
        return [folder] if folder else []

    def _pick_loras(self) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(self, "LoRA files", "", "LoRA (*.safetensors)")
        return files

    def _pick_editor(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image editor program")
        if path:
            self.image_editor.setText(path)

    def load(self) -> None:
        s = self.settings
        self.model_dirs.set_paths(s.get("models/folders"))
        self.loras.set_paths(s.get("models/loras"))
        self.memory.setCurrentIndex(max(0, self.memory.findData(s.get("models/memory_mode"))))
        self.engine.setCurrentIndex(max(0, self.engine.findData(s.get("engine/default"))))
        self.proxy.setChecked(bool(s.get("proxy/enabled")))
        self.proxy_lines.setValue(int(s.get("proxy/lines")))
        self.image_editor.setText(str(s.get("external/image_editor") or ""))
        self.confirm_plan.setChecked(bool(s.get("render/confirm_plan")))

    def store(self) -> None:
        s = self.settings
        folders = self.model_dirs.paths()
        s.set("models/folders", folders)
        current = str(s.qsettings.value("models/current", "") or "")
        if folders and not any(current == f or current.startswith(f.rstrip("/") + "/") for f in folders):
            s.qsettings.setValue("models/current", folders[0])  # the model the vivid engine loads
        s.set("models/loras", self.loras.paths())
        s.set("models/memory_mode", self.memory.currentData())
        s.set("engine/default", self.engine.currentData())
        s.set("proxy/enabled", self.proxy.isChecked())
        s.set("proxy/lines", self.proxy_lines.value())
        s.set("external/image_editor", self.image_editor.text().strip())
        s.set("render/confirm_plan", self.confirm_plan.isChecked())
        self.runtime.store()
        s.sync()

    def accept(self) -> None:
        problem = self.runtime.problem()
        if problem:
            QMessageBox.warning(self, "Runtime", problem)
            return
        self.store()
        super().accept()
