"""The window's two workspaces: *Edit* (viewer, timeline, mask and edit panels) and *Train* (the
trainer tab, built on first use so that start-up stays fast).

Switching to Train hides the editing docks and brings them back on return. The trainer's "use this
LoRA" adds it to the selected edit (one undo step); "use this model" makes it the vivid model.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget, QScrollArea, QTabWidget, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from vivid_desktop.qt.main_window import MainWindow
    from vivid_desktop.qt.trainer_tab import TrainerTab

log = logging.getLogger(__name__)


class Workspaces(QObject):
    """Owns the central tab widget; see the module docstring."""

    def __init__(self, window: MainWindow, editor: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.tabs = QTabWidget()
        self.tabs.setObjectName("workspaces")
        self.tabs.setDocumentMode(True)
        self.editor = editor
        self.placeholder = QWidget()
        self._placeholder_layout = QVBoxLayout(self.placeholder)
        self.tabs.addTab(editor, "Edit")
        self.tabs.addTab(self.placeholder, "Train")
        self.trainer: TrainerTab | None = None
        self._hidden: list[QDockWidget] = []
        self.tabs.currentChanged.connect(self._changed)

    @property
    def training(self) -> bool:
        return self.tabs.currentIndex() == 1

    def show_editor(self) -> None:
        self.tabs.setCurrentIndex(0)

    def show_trainer(self) -> None:
        self.tabs.setCurrentIndex(1)

    def _changed(self, index: int) -> None:
        docks = self.window.findChildren(QDockWidget)
        if index == 1:
            self._ensure_trainer()
            self._hidden = [d for d in docks if d.isVisible()]
            for dock in self._hidden:
                dock.hide()
        else:
            for dock in self._hidden:
                dock.show()
            self._hidden = []

    def _ensure_trainer(self) -> None:
        if self.trainer is not None:
            return
        from vivid_desktop.qt.trainer_tab import TrainerTab  # heavy (plots): only when first shown

        w = self.window
        trainer = self.trainer = TrainerTab(w.runtime, w.relay)
        # In a scroll area: the tab's natural size must not grow the window past a 1366×768 screen.
        area = QScrollArea()
        area.setObjectName("trainerScroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        area.setWidget(trainer)
        self._placeholder_layout.setContentsMargins(0, 0, 0, 0)
        self._placeholder_layout.addWidget(area)
        self.settings_changed()
        trainer.useLora.connect(self._use_lora)
        trainer.useModel.connect(self._use_model)
        store = w.session.store
        trainer.set_project(str(store.folder) if store is not None else None)

    def settings_changed(self) -> None:
        """The model chosen in Settings / the model manager is the one the trainer fine-tunes."""
        current = str(self.window.settings.qsettings.value("models/current", "") or "")
        if self.trainer is not None and current:
            self.trainer.set_model(current)

    def project_changed(self) -> None:
        if self.trainer is not None:
            store = self.window.session.store
            self.trainer.set_project(str(store.folder) if store is not None else None)

    def _use_lora(self, path: str, weight: float) -> None:
        from vivid_desktop.qt.trainer_tab import add_lora_to_edit

        s = self.window.session
        if s.project is None or s.edit is None or s.edit_id is None:
            self.window.statusBar().showMessage("Select an edit to use the LoRA with.", 5000)
            return
        with s.undo.transaction("Use LoRA"):
            add_lora_to_edit(s.project, s.edit_id, path, weight)
            if s.edit.engine != "vivid":
                s.project.set_engine(s.edit_id, "vivid")
        self.window.statusBar().showMessage(f"{s.edit.name} now uses the LoRA {path}", 5000)
        self.show_editor()

    def _use_model(self, folder: str) -> None:
        self.window.settings.qsettings.setValue("models/current", folder)
        folders = self.window.settings.get("models/folders")
        if folder not in folders:
            self.window.settings.set("models/folders", [*folders, folder])
        self.window.statusBar().showMessage(f"The vivid engine now uses {folder}", 5000)
        self.settings_changed()

    def shutdown(self) -> None:
        if self.trainer is not None:
            self.trainer.shutdown()
