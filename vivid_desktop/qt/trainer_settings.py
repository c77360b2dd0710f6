"""The trainer tab's settings: a preset by GPU memory and the fields it implies, editable.

Choosing a preset fills the fields; changing a field the preset sets makes the preset read "Custom".
:meth:`TrainSettingsForm.values` returns the ``TrainRequest`` fields the form holds.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.train_presets import ALL_PRESETS, PRESETS, matching_preset, preset_named

CUSTOM = "Custom"
#: the training variants (``TrainRequest.variant``): label, value, tooltip
VARIANTS = (
    ("Standard", "standard", "Video samples are plain video edits"),
    (
        "KIVE (known first frame)",
        "kive",
        "Every video sample starts with a known frame (its own, mask 0 there), as the vivid engine runs a "
        "window after an edited keyframe: the LoRA learns to carry a keyframe through the clip",
    ),
)


def _spin(low: int, high: int, value: int, step: int = 1, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class TrainSettingsForm(QGroupBox):
    """Preset combo, what it implies, and the trainer's main settings."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Settings", parent)
        self.setObjectName("trainSettings")
        col = QVBoxLayout(self)
        top = QFormLayout()
        self.preset = QComboBox()
        self.preset.setObjectName("presetCombo")
        for p in ALL_PRESETS:
            self.preset.addItem(p.label, p.name)
        self.preset.addItem(CUSTOM, CUSTOM)
        self.preset.setToolTip("Settings that fit a GPU of this memory size; every field stays editable")
        top.addRow("Preset", self.preset)
        col.addLayout(top)
        self.implies = QLabel()
        self.implies.setObjectName("presetSummary")
        self.implies.setWordWrap(True)
        col.addWidget(self.implies)
        self.steps = _spin(1, 1_000_000, 1000, 100)
        self.rank = _spin(1, 1024, 64, 8)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(1e-6, 1.0)
        self.learning_rate.setSingleStep(1e-5)
        self.learning_rate.setValue(1e-4)
        self.width_ = _spin(16, 4096, 720, 16, " px")
        self.height_ = _spin(16, 4096, 480, 16, " px")
        self.num_frames = _spin(1, 257, 49, 4)
        self.batch_size = _spin(1, 64, 1)
        self.gradient_checkpointing = QCheckBox("Gradient checkpointing")
        self.train_ff = QCheckBox("LoRA on feed-forward layers too")
        self.checkpoint_every = _spin(1, 1_000_000, 100, 50, " steps")
        self.validate_every = _spin(0, 1_000_000, 100, 50, " steps")
        self.validate_every.setSpecialValueText("never")
        self.val_loss_every = _spin(0, 1_000_000, 100, 50, " steps")
        self.val_loss_every.setSpecialValueText("never")
        self.val_loss_every.setToolTip(
            "The loss on the validation samples at fixed timesteps and noise, plotted as val_loss"
        )
        self.variant = QComboBox()
        self.variant.setObjectName("variantCombo")
        for label, value, tip in VARIANTS:
            self.variant.addItem(label, value)
            self.variant.setItemData(self.variant.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        pairs = [
            ("Steps", self.steps), ("LoRA rank", self.rank),
            ("Learning rate", self.learning_rate), ("Batch", self.batch_size),
            ("Width", self.width_), ("Height", self.height_),
            ("Frames per video", self.num_frames), ("Checkpoint every", self.checkpoint_every),
            ("Validate every", self.validate_every), ("val_loss every", self.val_loss_every),
            ("Variant", self.variant),
        ]  # fmt: skip
        for i, (label, box) in enumerate(pairs):
            r, c = divmod(i, 2)
            grid.addWidget(QLabel(label), r, 2 * c)
            grid.addWidget(box, r, 2 * c + 1)
        grid.addWidget(self.gradient_checkpointing, 6, 0, 1, 2)
        grid.addWidget(self.train_ff, 6, 2, 1, 2)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        col.addLayout(grid)
        col.addStretch(1)
        self._applying = False
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        for box in (self.steps, self.rank, self.width_, self.height_, self.num_frames, self.batch_size,
                    self.checkpoint_every, self.validate_every, self.val_loss_every):  # fmt: skip
            box.valueChanged.connect(self._edited)
        self.variant.currentIndexChanged.connect(self._edited)
        self.learning_rate.valueChanged.connect(self._edited)
        self.gradient_checkpointing.toggled.connect(self._edited)
        self.train_ff.toggled.connect(self._edited)
        self.apply_preset(PRESETS[0].name)

    # ---- presets --------------------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        """Fill the fields from a preset (by name, e.g. "24 GB")."""
        preset = preset_named(name)
        if preset is None:
            return
        self._applying = True
        try:
            self.set_values(preset.fields())
            self.preset.setCurrentIndex(self.preset.findData(name))
        finally:
            self._applying = False
        self._show_preset()
        self.changed.emit()

    def preset_name(self) -> str:
        return str(self.preset.currentData())

    def _preset_chosen(self, _index: int) -> None:
        if not self._applying and self.preset_name() != CUSTOM:
            self.apply_preset(self.preset_name())
        else:
            self._show_preset()

    def _edited(self, *_args: object) -> None:
        if self._applying:
            return
        match = matching_preset(self.values())
        self._applying = True
        try:
            self.preset.setCurrentIndex(self.preset.findData(match.name if match else CUSTOM))
        finally:
            self._applying = False
        self._show_preset()
        self.changed.emit()

    def _show_preset(self) -> None:
        preset = preset_named(self.preset_name())
        if preset is None:
            self.implies.setText("Custom settings.")
            return
        cells = [
            f"<td>{k}&nbsp;&nbsp;</td><td><b>{v}</b>&nbsp;&nbsp;&nbsp;&nbsp;</td>"
            for k, v in preset.describe()
        ]
        rows = "".join(f"<tr>{''.join(cells[i : i + 2])}</tr>" for i in range(0, len(cells), 2))
        self.implies.setText(f"<table>{rows}</table>")

    # ---- values ---------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The ``TrainRequest`` fields this form sets."""
        return {
            "steps": self.steps.value(),
            "rank": self.rank.value(),
            "learning_rate": self.learning_rate.value(),
            "width": self.width_.value(),
            "height": self.height_.value(),
            "num_frames": self.num_frames.value(),
            "batch_size": self.batch_size.value(),
            "gradient_checkpointing": self.gradient_checkpointing.isChecked(),
            "train_ff": self.train_ff.isChecked(),
            "checkpoint_every": self.checkpoint_every.value(),
            "validate_every": self.validate_every.value(),
            "val_loss_every": self.val_loss_every.value(),
            "variant": str(self.variant.currentData()),
        }

    def set_values(self, values: dict[str, Any]) -> None:
        """Set any of the fields (unknown keys are ignored); the preset follows."""
        boxes = {"steps": self.steps, "rank": self.rank, "learning_rate": self.learning_rate,
                 "width": self.width_, "height": self.height_, "num_frames": self.num_frames,
                 "batch_size": self.batch_size, "checkpoint_every": self.checkpoint_every,
                 "validate_every": self.validate_every, "val_loss_every": self.val_loss_every}  # fmt: skip
        for key, value in values.items():
            if key in boxes:
                box = boxes[key]
                assert isinstance(box, QSpinBox | QDoubleSpinBox)
                box.setValue(value)
            elif key == "gradient_checkpointing":
                self.gradient_checkpointing.setChecked(bool(value))
            elif key == "train_ff":
                self.train_ff.setChecked(bool(value))
            elif key == "variant" and self.variant.findData(value) >= 0:
                self.variant.setCurrentIndex(self.variant.findData(value))
        if not self._applying:
            self._edited()

    def set_running(self, running: bool) -> None:
        """The settings of a running job cannot change."""
        for child in self.findChildren(QWidget):
            child.setEnabled(not running)
