"""The trainer tab's views: the sample table, the loss plot, the render gallery and the checkpoint list.

Each one renders what it is given and keeps no training state of its own (the controller and the scan
own it). The plot draws the raw loss thin and an exponential moving average bold, because the loss of
diffusion training is noisy by nature (every step draws a new timestep and noise). The validation loss
(fixed timesteps and noise on the validation samples, every N steps) is its own series, points joined by a
line: it is steady, so it shows what the noisy training curve hides.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.datasets import SampleRow
from vivid_desktop.qt.images import qimage_from_rgb
from vivid_desktop.qt.trainer_run import CheckpointInfo, LogPoint, ValLossPoint

PROBLEM_BG = QColor("#4a2328")
PROBLEM_FG = QColor("#ff9a9a")
EMA_ALPHA = 0.1


class SampleTable(QTableWidget):
    """One row per sample: thumbnail (mask in red), name, kind, size, task, caption, problems."""

    COLUMNS = ("", "Sample", "Kind", "Size", "Task", "Caption", "Problems")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setObjectName("sampleTable")
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setIconSize(QSize(48, 40))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(44)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((52, 150, 80, 64, 56, 130)):
            self.setColumnWidth(column, width)
        self.rows: list[SampleRow] = []

    def clear_rows(self) -> None:
        self.rows = []
        self.setRowCount(0)

    def add_row(self, row: SampleRow) -> None:
        self.rows.append(row)
        r = self.rowCount()
        self.insertRow(r)
        thumb = QTableWidgetItem()
        if row.thumbnail is not None:
            thumb.setIcon(QIcon(QPixmap.fromImage(qimage_from_rgb(row.thumbnail))))
        self.setItem(r, 0, thumb)
        name = row.name + ("  (validation)" if row.role == "validation" else "")
        kind = {"video": f"video · {row.frames} f", "frames": f"frames · {row.frames}", "image": "image"}
        size = f"{row.width}×{row.height}" if row.width else ""
        task = row.task if row.media is not None else ""
        cells = (name, kind.get(row.kind, ""), size, task, row.caption, "; ".join(row.problems) or "ok")
        for column, text in enumerate(cells, start=1):
            item = QTableWidgetItem(text)
            item.setToolTip(str(row.media) if column == 1 and row.media else text)
            self.setItem(r, column, item)
        self._paint(r, row.problems)

    def flag(self, problems: list[tuple[str, str]]) -> int:
        """Mark rows with problems the runtime found (by sample name); returns how many matched."""
        matched = 0
        for r, row in enumerate(self.rows):
            found = [message for name, message in problems if name == row.name]
            if found and set(found) - set(row.problems):
                merged = tuple(dict.fromkeys([*row.problems, *found]))
                self.rows[r] = row = replace(row, problems=merged)
                self._problems_item(r).setText("; ".join(merged))
                self._paint(r, merged)
                matched += 1
        return matched

    def problem_rows(self) -> list[int]:
        return [r for r, row in enumerate(self.rows) if row.problems]

    def _problems_item(self, row: int) -> QTableWidgetItem:
        item = self.item(row, 6)
        assert item is not None  # every row is made with all its cells
        return item

    def _paint(self, r: int, problems: tuple[str, ...]) -> None:
        for column in range(self.columnCount()):
            item = self.item(r, column)
            if item is None:
                continue
            if problems:
                item.setBackground(QBrush(PROBLEM_BG))
                item.setForeground(QBrush(PROBLEM_FG if column == 6 else QColor("#f0d0d0")))
            else:
                item.setData(Qt.ItemDataRole.BackgroundRole, None)
        if problems:
            self._problems_item(r).setToolTip("\n".join(problems))


def ema(values: np.ndarray, alpha: float = EMA_ALPHA) -> np.ndarray:
    """Exponential moving average (bias-corrected, so the first points are not pulled to zero)."""
    out = np.empty_like(values, dtype=np.float64)
    acc, weight = 0.0, 0.0
    for i, v in enumerate(values):
        acc = (1 - alpha) * acc + alpha * float(v)
        weight = (1 - alpha) * weight + alpha
        out[i] = acc / weight
    return out


class LossPlot(QWidget):
    """The live loss curve (pyqtgraph): raw loss per step, its moving average, and the validation loss."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(background="#1c1d21")
        self.plot.setMinimumHeight(160)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        item.addLegend(offset=(-10, 10), labelTextColor="#a9acb5")
        item.setMenuEnabled(False)
        self.raw = self.plot.plot([], [], pen=pg.mkPen("#5a80d6", width=1), name="loss")
        self.smooth = self.plot.plot([], [], pen=pg.mkPen("#f0c05a", width=2), name="average")
        self.val = self.plot.plot(
            [],
            [],
            pen=pg.mkPen("#6fd08c", width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush="#6fd08c",
            name="val_loss",
        )
        layout.addWidget(self.plot)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []

    def reset(self) -> None:
        self.steps, self.losses, self.val_steps, self.val_losses = [], [], [], []
        self._redraw()

    def add_points(self, points: list[LogPoint]) -> None:
        for p in points:
            if isinstance(p, ValLossPoint):
                self.val_steps.append(p.step)
                self.val_losses.append(p.val_loss)
            else:
                self.steps.append(p.step)
                self.losses.append(p.loss)
        self._redraw()

    def _redraw(self) -> None:
        x = np.asarray(self.steps, dtype=np.float64)
        y = np.asarray(self.losses, dtype=np.float64)
        self.raw.setData(x, y)
        self.smooth.setData(x, ema(y) if len(y) else y)
        self.val.setData(
            np.asarray(self.val_steps, dtype=np.float64), np.asarray(self.val_losses, dtype=np.float64)
        )


class RenderGallery(QListWidget):
    """Validation renders by step, newest first; hovering shows the file."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("renderGallery")
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(160, 100))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWrapping(True)
        self.setSpacing(6)
        self.setUniformItemSizes(True)
        self.setMinimumHeight(140)

    def add_render(self, step: int, path: str, image) -> None:
        for i in range(self.count()):
            if self.item(i).data(Qt.ItemDataRole.UserRole) == path:
                return
        item = QListWidgetItem(QIcon(QPixmap.fromImage(image)), f"step {step}\n{render_label(path)}")
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setData(Qt.ItemDataRole.UserRole + 1, step)
        item.setToolTip(path)
        row = 0  # newest step first, then by name
        while row < self.count() and (
            self.item(row).data(Qt.ItemDataRole.UserRole + 1) > step
            or (self.item(row).data(Qt.ItemDataRole.UserRole + 1) == step and self.item(row).toolTip() < path)
        ):
            row += 1
        self.insertItem(row, item)

    def steps(self) -> list[int]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in range(self.count())]


def render_label(path: str) -> str:
    """A render's sample name from its file name (the trainer writes ``NN-<sample slug>.png``)."""
    name = re.sub(r"^\d+-", "", Path(path).stem)
    return re.sub(r"-(png|jpe?g|webp|bmp|tiff?|mp4|mov|mkv|webm|avi|m4v)$", "", name)


class CheckpointList(QListWidget):
    """The checkpoints in the work folder, newest first."""

    activatedPath = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checkpointList")
        self.itemDoubleClicked.connect(lambda item: self.activatedPath.emit(item.toolTip()))

    def set_checkpoints(self, checkpoints: list[CheckpointInfo]) -> None:
        self.clear()
        for c in reversed(checkpoints):
            loss = f" · loss {c.loss:.4f}" if c.loss is not None else ""
            item = QListWidgetItem(f"step {c.step}{loss}")
            item.setToolTip(str(c.path))
            self.addItem(item)
        if not checkpoints:
            placeholder = QListWidgetItem("no checkpoints yet")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(placeholder)
