"""The model manager: model folders, the models and LoRAs found in them, memory mode, default engine.

Discovery uses the runtime's own rules (``python -m model_runtime.vivid list --json``, the command behind
``vivid model list``) in a subprocess on a worker thread, so the GUI never imports the runtime's model
code and lists exactly what the vivid engine will load: our checkpoints (``vivid``), a base CogVideoX plus
patch embedding and LoRA (``adapter``), CogVideoX-Fun InP folders (``fun-inp``), plain CogVideoX
(``base``) and LoRA files. Everything is remembered in the application settings (QSettings):

=========================  ==================================================================
``models/folders``         folders searched (each folder and its direct sub-folders)
``models/current``         the model folder the vivid engine uses
``models/loras``           enabled LoRA files
``models/lora_weights``    JSON ``{path: weight}`` of every LoRA the user has seen or added
``models/memory_mode``     auto | gpu | model_offload | vae_tiling | sequential_offload
``models/hf_cache``        also list models in the local Hugging Face cache (offline)
``engine/default``         flow | vivid, the engine of new edits
=========================  ==================================================================

:func:`vivid_engine_settings` turns them into the vivid engine's ``settings`` keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.models import FoundModel, describe_lora, list_models, lora_metadata
from vivid_desktop.qt.settings import ENGINES, MEMORY_MODE_LABELS, MEMORY_MODES, AppSettings
from vivid_desktop.qt.workers import MainThreadRelay, WorkerPool

KIND_LABELS = {
    "vivid": "VIVID checkpoint",
    "adapter": "CogVideoX + VIVID patch/LoRA",
    "fun-inp": "CogVideoX-Fun InP",
    "base": "CogVideoX base (mask inputs start at zero)",
}
ENGINE_LABELS = {"flow": "flow — classical, CPU, no weights", "vivid": "vivid — the diffusion model"}


def lora_weights(settings: AppSettings) -> dict[str, float]:
    raw = str(settings.qsettings.value("models/lora_weights", "") or "")
    try:
        data = json.loads(raw) if raw else {}
        return {str(k): float(v) for k, v in data.items()}
    except (TypeError, ValueError, AttributeError):
        return {}


def vivid_engine_settings(settings: AppSettings) -> dict[str, Any]:
    """The vivid engine's ``settings`` from the stored choices (model_runtime/vivid/settings.py keys)."""
    out: dict[str, Any] = {"memory": settings.get("models/memory_mode") or "auto"}
    current = settings.qsettings.value("models/current", "")
    if current:
        out["model"] = str(current)
    weights = lora_weights(settings)
    loras = [
        {"path": p, "weight": weights.get(p, 1.0), "name": Path(p).stem} for p in settings.get("models/loras")
    ]
    if loras:
        out["loras"] = loras
    return out


class ModelManagerDialog(QDialog):
    """Add model folders, choose the model, enable LoRAs with weights, memory mode, default engine.

    Changes are saved on OK (``settingsChanged`` then fires); Cancel forgets them.
    """

    settingsChanged = Signal()

    def __init__(
        self,
        settings: AppSettings,
        relay: MainThreadRelay,
        parent: QWidget | None = None,
        has_gpu: bool | None = None,
    ) -> None:
        super().__init__(parent)
        self.has_gpu = has_gpu
        self.setObjectName("modelManager")
        self.setWindowTitle("Model manager")
        self.resize(820, 620)
        self.settings = settings
        self._pool = WorkerPool(relay, max_workers=1, name="vivid-models")
        self.models: list[FoundModel] = []
        self.current = str(settings.qsettings.value("models/current", "") or "")
        self._weights = lora_weights(settings)
        self._enabled = set(settings.get("models/loras"))
        for path in self._enabled:
            self._weights.setdefault(path, 1.0)
        self._meta: dict[str, dict[str, Any]] = {}
        self._scans = 0
        #: scans whose result (or error) has been shown
        self.scans_done = 0
        self._build()
        self.folders.addItems(settings.get("models/folders"))
        self.rescan()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QVBoxLayout(self)
        folders = QGroupBox("Model folders")
        row = QHBoxLayout(folders)
        self.folders = QListWidget()
        self.folders.setMaximumHeight(90)
        buttons = QVBoxLayout()
        add = QPushButton("Add folder…")
        add.clicked.connect(self._add_folder_dialog)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected_folder)
        self.hf_cache = QCheckBox("Hugging Face cache")
        self.hf_cache.setToolTip(
            "Also list models already in the local Hugging Face cache (nothing is downloaded)"
        )
        self.hf_cache.setChecked(_as_bool(self.settings.qsettings.value("models/hf_cache", True)))
        self.hf_cache.toggled.connect(lambda _on: self.rescan())
        for w in (add, self.remove_button, self.hf_cache):
            buttons.addWidget(w)
        buttons.addStretch(1)
        row.addWidget(self.folders, 1)
        row.addLayout(buttons)
        col.addWidget(folders)

        models = QGroupBox("Models (select the one to use)")
        mcol = QVBoxLayout(models)
        self.model_table = _table(("Model", "Kind", "Location"))
        self.model_table.itemSelectionChanged.connect(self._model_selected)
        mcol.addWidget(self.model_table)
        col.addWidget(models, 3)

        loras = QGroupBox("LoRA adapters")
        lcol = QVBoxLayout(loras)
        self.lora_table = _table(("Use", "LoRA", "Weight", "Details"))
        lcol.addWidget(self.lora_table)
        add_lora = QPushButton("Add LoRA file…")
        add_lora.clicked.connect(self._add_lora_dialog)
        lrow = QHBoxLayout()
        lrow.addStretch(1)
        lrow.addWidget(add_lora)
        lcol.addLayout(lrow)
        col.addWidget(loras, 2)

        form = QFormLayout()
        self.memory = QComboBox()
        for mode in MEMORY_MODES:
            self.memory.addItem(MEMORY_MODE_LABELS.get(mode, mode), mode)
        self.memory.setCurrentIndex(max(0, self.memory.findData(self.settings.get("models/memory_mode"))))
        self.engine = QComboBox()
        for name in ENGINES:
            self.engine.addItem(ENGINE_LABELS.get(name, name), name)
        self.engine.setCurrentIndex(max(0, self.engine.findData(self.settings.get("engine/default"))))
        form.addRow("Memory mode", self.memory)
        form.setRowVisible(self.memory, self.has_gpu is not False)  # GPU memory modes mean nothing on CPU
        form.addRow("Default engine", self.engine)
        col.addLayout(form)

        bottom = QHBoxLayout()
        self.status = QLabel("")
        self.status.setObjectName("modelStatus")
        self.status.setWordWrap(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(box)
        col.addLayout(bottom)

    # ---- intents --------------------------------------------------------------------------------
    def add_folder(self, path: str) -> None:
        if path and path not in self.folder_list():
            self.folders.addItem(path)
            self.rescan()

    def remove_selected_folder(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))
        self.rescan()

    def add_lora(self, path: str, weight: float = 1.0) -> None:
        """Add (and enable) a LoRA file that is not in a model folder."""
        self._read_lora_table()
        self._weights.setdefault(path, weight)
        self._enabled.add(path)
        self._fill_loras()
        self.rescan()  # reads its metadata

    def folder_list(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def rescan(self) -> None:
        """List the models of the folders again (in the background)."""
        self._scans += 1
        number = self._scans
        self.status.setText("Looking for models …")
        self._pool.run(
            _scan, self.folder_list(), self.hf_cache.isChecked(), list(self._weights),
            on_result=lambda found: self._on_found(number, found),
            on_error=lambda exc: self._on_error(number, exc),
        )  # fmt: skip

    def save(self) -> None:
        """Write every choice to the settings."""
        s = self.settings
        self._read_lora_table()
        s.set("models/folders", self.folder_list())
        s.set("models/current", self.current)
        s.set("models/loras", sorted(self._enabled))
        s.qsettings.setValue("models/lora_weights", json.dumps(self._weights, sort_keys=True))
        s.set("models/memory_mode", self.memory.currentData())
        s.set("models/hf_cache", self.hf_cache.isChecked())
        s.set("engine/default", self.engine.currentData())
        s.sync()

    def accept(self) -> None:
        self.save()
        self.settingsChanged.emit()
        super().accept()

    def done(self, result: int) -> None:
        self._pool.shutdown()
        super().done(result)

    @property
    def scanning(self) -> bool:
        return self._pool.busy()

    # ---- results --------------------------------------------------------------------------------
    def _on_found(self, number: int, found: tuple[list[FoundModel], dict[str, dict[str, Any]]]) -> None:
        if number != self._scans:
            return  # an older scan finished after a newer one started
        self.scans_done += 1
        self._read_lora_table()
        self.models, metas = found
        self._meta.update(metas)
        for lora in (m for m in self.models if m.kind == "lora"):
            self._weights.setdefault(lora.path, 1.0)
        usable = [m for m in self.models if m.kind != "lora"]
        if usable and self.current not in {m.path for m in usable}:
            # no choice yet (or the chosen one is gone): a model of our format first, else the first found
            mine = [m for m in usable if m.kind in ("vivid", "adapter")]
            self.current = (mine or usable)[0].path if not self.current else self.current
        self._fill_models()
        self._fill_loras()
        models = f"{len(usable)} model" + ("s" if len(usable) != 1 else "")
        loras = f"{len(self._weights)} LoRA" + ("s" if len(self._weights) != 1 else "")
        missing = (
            ""
            if not self.current or self.current in {m.path for m in usable}
            else " The chosen model is missing."
        )
        self.status.setText(f"{models}, {loras}.{missing}")

    def _on_error(self, number: int, exc: BaseException) -> None:
        if number == self._scans:
            self.scans_done += 1
            self.status.setText(str(exc))

    def _fill_models(self) -> None:
        table = self.model_table
        table.blockSignals(True)
        table.setRowCount(0)
        for m in (m for m in self.models if m.kind != "lora"):
            r = table.rowCount()
            table.insertRow(r)
            where = m.path + ("  (Hugging Face cache)" if m.source == "hf-cache" else "")
            for c, text in enumerate((m.name, KIND_LABELS.get(m.kind, m.kind), where)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, m.path)
                item.setToolTip(m.path)
                table.setItem(r, c, item)
            if m.path == self.current:
                table.selectRow(r)
        table.blockSignals(False)
        self._mark_current()

    def _model_selected(self) -> None:
        rows = self.model_table.selectionModel().selectedRows()
        if rows:
            self.current = _cell(self.model_table, rows[0].row()).data(Qt.ItemDataRole.UserRole)
            self._mark_current()

    def _mark_current(self) -> None:
        for r in range(self.model_table.rowCount()):
            item = _cell(self.model_table, r)
            font = QFont(item.font())
            font.setBold(item.data(Qt.ItemDataRole.UserRole) == self.current)
            item.setFont(font)

    def _fill_loras(self) -> None:
        table = self.lora_table
        table.setRowCount(0)
        for path in sorted(self._weights, key=lambda p: Path(p).name.lower()):
            r = table.rowCount()
            table.insertRow(r)
            use = QTableWidgetItem()
            use.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            use.setCheckState(Qt.CheckState.Checked if path in self._enabled else Qt.CheckState.Unchecked)
            use.setData(Qt.ItemDataRole.UserRole, path)
            table.setItem(r, 0, use)
            name = QTableWidgetItem(Path(path).stem)
            name.setToolTip(path)
            table.setItem(r, 1, name)
            weight = QDoubleSpinBox()
            weight.setRange(-2.0, 2.0)
            weight.setSingleStep(0.05)
            weight.setValue(self._weights[path])
            table.setCellWidget(r, 2, weight)
            missing = "" if Path(path).exists() else "file missing"
            table.setItem(r, 3, QTableWidgetItem(missing or describe_lora(self._meta.get(path, {}))))

    def _read_lora_table(self) -> None:
        """Take the check boxes and weights the user changed into the dialog's state."""
        for r in range(self.lora_table.rowCount()):
            path = _cell(self.lora_table, r).data(Qt.ItemDataRole.UserRole)
            if _cell(self.lora_table, r).checkState() == Qt.CheckState.Checked:
                self._enabled.add(path)
            else:
                self._enabled.discard(path)
            spin = self.lora_table.cellWidget(r, 2)
            if isinstance(spin, QDoubleSpinBox):
                self._weights[path] = spin.value()

    def set_lora(self, path: str, enabled: bool, weight: float) -> None:
        """Check/uncheck a LoRA and set its weight (as a user would in the table)."""
        for r in range(self.lora_table.rowCount()):
            if _cell(self.lora_table, r).data(Qt.ItemDataRole.UserRole) == path:
                state = Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked
                _cell(self.lora_table, r).setCheckState(state)
                spin = self.lora_table.cellWidget(r, 2)
                if isinstance(spin, QDoubleSpinBox):
                    spin.setValue(weight)
                return
        raise KeyError(path)

    def _add_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a model folder")
        if path:
            self.add_folder(path)

    def _add_lora_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a LoRA", "", "LoRA (*.safetensors)")
        if path:
            self.add_lora(path)


def _scan(
    folders: list[str], hf_cache: bool, loras: list[str]
) -> tuple[list[FoundModel], dict[str, dict[str, Any]]]:
    """The models and LoRAs found, and each LoRA's metadata: the listing carries it for the LoRAs it
    found (their header was read once, there); only LoRAs added from elsewhere are read here."""
    found = list_models(folders, hf_cache)
    metas = {m.path: dict(m.details) for m in found if m.kind == "lora"}
    for path in set(loras) - set(metas):
        metas[path] = lora_metadata(path)
    return found, metas


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def _as_bool(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")


def _cell(table: QTableWidget, row: int, column: int = 0) -> QTableWidgetItem:
    """A cell the dialog made (each row is made with all its items)."""
    item = table.item(row, column)
    assert item is not None
    return item
