"""Small dialogs of the File and Help menus: revert to a backup, disk use and clean-up, the shortcut
sheet. Each is sized for a 1366×768 screen: long content scrolls instead of growing the dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.core.hygiene import CLEANABLE_CACHES, PARTS, Backup, human_size
from vivid_desktop.qt.menus import shortcut_rows


def fit_to_screen(dialog: QWidget, width: int, height: int) -> None:
    """``width``×``height`` at most, and never more than 85 % of the screen's free area."""
    screen = dialog.screen() or QGuiApplication.primaryScreen()
    area = screen.availableGeometry() if screen is not None else None
    if area is not None:
        width, height = min(width, int(area.width() * 0.85)), min(height, int(area.height() * 0.85))
    dialog.resize(width, height)
    dialog.setMaximumHeight(height if area is None else int(area.height() * 0.95))


class QtBackupsDialog(QDialog):
    """File ▸ Revert to backup: the project's backups with their times; ``chosen`` the one to use."""

    chosen = Signal(object)  # Path

    def __init__(self, backups: list[Backup], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Revert to backup")
        self.setObjectName("backupsDialog")
        col = QVBoxLayout(self)
        col.addWidget(
            QLabel(
                "Choose the state to go back to. The project as it is now is kept as a backup too, so a "
                "revert can be undone the same way. Masks and rendered frames on disk are not changed."
            )
        )
        self.list = QListWidget()
        for b in backups:
            label = "before a revert, " if "before-revert" in b.path.name else ""
            item = QListWidgetItem(f"{b.saved:%A %d %B %Y, %H:%M:%S}  ({label}{human_size(b.size)})")
            item.setData(Qt.ItemDataRole.UserRole, b.path)
            item.setToolTip(str(b.path))
            self.list.addItem(item)
        if not backups:
            self.list.addItem("No backups yet: one is made every few minutes while you work.")
            self.list.setEnabled(False)
        self.list.setCurrentRow(0)
        col.addWidget(self.list, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.revert_button = buttons.addButton("Revert", QDialogButtonBox.ButtonRole.AcceptRole)
        self.revert_button.setEnabled(bool(backups))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        fit_to_screen(self, 520, 420)

    def accept(self) -> None:
        item = self.list.currentItem()
        path = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        super().accept()
        if path is not None:
            self.chosen.emit(path)


class QtDiskUseDialog(QDialog):
    """File ▸ Disk use: what each part of the project folder takes; clean superseded renders, caches."""

    cleanRequested = Signal(bool, bool)  # renders, caches

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Disk use")
        self.setObjectName("diskUseDialog")
        col = QVBoxLayout(self)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Part", "Size"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        col.addWidget(self.table, 1)
        self.renders = QCheckBox("Renders replaced by newer ones (never shown or exported)")
        self.renders.setChecked(True)
        self.caches = QCheckBox("Caches rebuilt when needed: " + ", ".join(CLEANABLE_CACHES))
        self.caches.setChecked(True)
        col.addWidget(self.renders)
        col.addWidget(self.caches)
        self.status = QLabel("Measuring …")
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.clean_button = QPushButton("Clean")
        buttons.addButton(self.clean_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.clean_button.clicked.connect(
            lambda: self.cleanRequested.emit(self.renders.isChecked(), self.caches.isChecked())
        )
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        fit_to_screen(self, 520, 440)

    def show_sizes(self, sizes: dict[str, int], superseded: int) -> None:
        self.table.setRowCount(0)
        for part in (*PARTS, "total"):
            r = self.table.rowCount()
            self.table.insertRow(r)
            self.table.setItem(r, 0, QTableWidgetItem("Whole project" if part == "total" else part))
            self.table.setItem(r, 1, QTableWidgetItem(human_size(sizes.get(part, 0))))
        self.renders.setText(f"{superseded} render(s) replaced by newer ones (never shown or exported)")
        self.status.setText(f"The project takes {human_size(sizes.get('total', 0))}.")


class QtShortcutSheet(QDialog):
    """Help ▸ Keyboard shortcuts (F1): every key of the menus, grouped by menu, in a scrolling table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcutSheet")
        col = QVBoxLayout(self)
        rows = shortcut_rows()
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for r, (section, what, keys) in enumerate(rows):
            for c, text in enumerate((section, what, keys)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        col.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        fit_to_screen(self, 620, 640)
