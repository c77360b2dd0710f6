"""The main window's dialogs and file choosers (a mix-in of ``MainWindow``, kept apart so that the
window file stays about building and wiring): open, revert to backup, disk use, export, settings,
model manager, the external-editor notice, the shortcut sheet, about."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QFileDialog, QFileSystemModel, QMainWindow, QMessageBox

from vivid_desktop import __version__
from vivid_desktop.core import hygiene
from vivid_desktop.core.project import ProjectError
from vivid_desktop.qt.runtime_bridge import default_launch_spec
from vivid_desktop.qt.runtime_settings import runtime_spec as remote_runtime_spec
from vivid_desktop.qt.session import is_project

if TYPE_CHECKING:
    from vivid_desktop.qt.keyframes import KeyframeController
    from vivid_desktop.qt.propagate_panel import QtPropagatePanel
    from vivid_desktop.qt.runtime_bridge import QtRuntime
    from vivid_desktop.qt.session import EditorSession
    from vivid_desktop.qt.settings import AppSettings
    from vivid_desktop.qt.workers import MainThreadRelay, WorkerPool
    from vivid_desktop.qt.workspaces import Workspaces

_OPEN_FILTER = "Video or project (*.mp4 *.mov *.mkv *.avi *.webm *.m4v *.mxf project.json);;All files (*)"


class WindowDialogs(QMainWindow):
    """Methods of ``MainWindow`` that open dialogs. What they use of the window is declared here (and
    made by ``MainWindow``), so that mypy checks both sides."""

    settings: AppSettings
    session: EditorSession
    runtime: QtRuntime
    relay: MainThreadRelay
    pool: WorkerPool
    workspaces: Workspaces
    keyframes: KeyframeController
    propagate_panel: QtPropagatePanel
    open_folder: Callable[[Path], object]
    #: the dialog last opened of each kind (tests and the window reach them here)
    open_dialog: QFileDialog
    backups_dialog: QDialog
    disk_dialog: QDialog
    export_dialog: QDialog
    exchange_box: QMessageBox
    settings_dialog: QDialog
    model_manager: QDialog
    shortcut_sheet: QDialog

    if TYPE_CHECKING:  # defined by MainWindow

        def open_path(self, path: str | Path) -> None: ...
        def show_error(self, title: str, message: str) -> None: ...
        def restart_runtime(self) -> None: ...
        def _refresh_rendered(self) -> None: ...

    # ---- opening --------------------------------------------------------------------------------
    def make_open_dialog(self) -> QFileDialog:
        """File ▸ Open: clips, or a project — entering a ``NAME.vivid`` folder opens it at once."""
        dialog = QFileDialog(self, "Open a clip or a project", "", _OPEN_FILTER)
        dialog.setObjectName("openDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        # Qt's own dialog: its folder model reports every change of folder (double click, typed path).
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)

        def entered(folder: str) -> None:
            if folder.endswith(".vivid") and is_project(Path(folder)) and dialog.isVisible():
                dialog.reject()
                QTimer.singleShot(0, lambda: self.open_path(folder))

        folders = dialog.findChild(QFileSystemModel)
        assert folders is not None  # DontUseNativeDialog: Qt's dialog always has its model
        folders.rootPathChanged.connect(entered)
        dialog.fileSelected.connect(self.open_path)
        return dialog

    def choose_file(self) -> None:
        self.open_dialog = self.make_open_dialog()
        self.open_dialog.open()

    def choose_project_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a project folder (NAME.vivid)")
        if not folder:
            return
        if is_project(Path(folder)):
            self.open_path(folder)
        else:
            self.show_error("Not a project", f"{folder} holds no project.json.")

    def _import_keyframe(self, frame: int) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Edited keyframe image", "", "Images (*.png *.jpg *.jpeg *.tif *.tiff)"
        )
        if path:
            self.keyframes.import_file(Path(path), frame)

    # ---- project hygiene ------------------------------------------------------------------------
    def show_backups(self) -> None:
        from vivid_desktop.qt.project_dialogs import QtBackupsDialog

        store = self.session.store
        if store is None:
            return
        self.session.save()
        dialog = QtBackupsDialog(hygiene.backups(store), self)
        dialog.chosen.connect(self.revert_to)
        self.backups_dialog = dialog
        dialog.open()

    def revert_to(self, backup: Path) -> None:
        """Close the project, make ``backup`` its project file (the current one is kept) and reopen."""
        store = self.session.store
        if store is None:
            return
        folder = store.folder
        self.session.close_project()
        try:
            kept = hygiene.revert_to_backup(store, backup)
        except (ProjectError, OSError) as exc:
            self.show_error("Cannot revert", str(exc))
        else:
            self.statusBar().showMessage(f"Reverted; the state before is kept as {kept.name}", 8000)
        self.open_path(folder)

    def show_disk_use(self) -> None:
        from vivid_desktop.qt.project_dialogs import QtDiskUseDialog

        store = self.session.store
        if store is None:
            return
        dialog = QtDiskUseDialog(self)
        self.disk_dialog = dialog

        def measure() -> None:
            self.pool.run(
                lambda: (hygiene.disk_use(store), len(hygiene.superseded_renders(store))),
                on_result=lambda r: dialog.show_sizes(*r),
                name="disk-use",
            )

        def clean(renders: bool, caches: bool) -> None:
            dialog.clean_button.setEnabled(False)
            dialog.status.setText("Cleaning …")

            def cleaned(freed: int) -> None:
                dialog.clean_button.setEnabled(True)
                self._refresh_rendered()
                self.propagate_panel.refresh()
                measure()
                self.statusBar().showMessage(f"Freed {hygiene.human_size(freed)}", 6000)

            self.pool.run(hygiene.clean, store, renders, caches, on_result=cleaned, name="clean")

        dialog.cleanRequested.connect(clean)
        measure()
        dialog.open()

    # ---- other dialogs --------------------------------------------------------------------------
    def show_export(self) -> None:
        from vivid_desktop.qt.export_dialog import QtExportDialog

        if self.session.store is None:
            return
        self.export_dialog = QtExportDialog(self.session, self.settings, self)
        self.export_dialog.show()

    def _show_exchange(self, path: Path, below: Path | None, edited: bool, opened: bool) -> None:
        """Ctrl+Shift+E wrote the keyframe: say where, what it is, and offer its folder."""
        what = "the keyframe's edited image" if edited else "the source frame (this edit is made from it)"
        lines = [f"{path.name} is {what}. Save it in the image editor and it comes back here."]
        if below is not None:
            lines.append(f"{below.name} shows the edits below this one at that frame, for reference.")
        if not opened:
            lines.append(
                "No image editor opened it: choose one in Settings ▸ Image editor, or open the file "
                "from its folder."
            )
        box = QMessageBox(QMessageBox.Icon.Information, "Keyframe exported", "\n\n".join(lines))
        box.setParent(self, box.windowFlags())
        box.setObjectName("exchangeBox")
        box.setInformativeText(str(path.parent))
        folder = box.addButton("Open folder", QMessageBox.ButtonRole.ActionRole)
        box.setEscapeButton(box.addButton(QMessageBox.StandardButton.Ok))
        box.buttonClicked.connect(lambda b: b is folder and self.open_folder(path.parent))
        self.exchange_box = box
        box.open()

    def show_settings(self) -> None:
        from vivid_desktop.qt.settings_dialog import QtSettingsDialog

        facts = self.runtime.facts
        dialog = QtSettingsDialog(self.settings, self, has_gpu=None if facts is None else bool(facts.gpus))
        dialog.modelsRequested.connect(self.show_model_manager)
        dialog.accepted.connect(self._settings_changed)
        self.settings_dialog = dialog
        dialog.open()

    def _settings_changed(self) -> None:
        self.session.default_engine = str(self.settings.get("engine/default") or "flow")
        self.workspaces.settings_changed()
        spec = remote_runtime_spec(self.settings) or default_launch_spec()
        if spec.remote != self.runtime.spec.remote:  # Settings → Runtime changed: connect there
            self.runtime.spec = spec
            self.restart_runtime()

    def show_model_manager(self) -> None:
        from vivid_desktop.qt.model_manager import ModelManagerDialog

        facts = self.runtime.facts
        self.model_manager = ModelManagerDialog(
            self.settings, self.relay, self, has_gpu=None if facts is None else bool(facts.gpus)
        )
        self.model_manager.settingsChanged.connect(self._settings_changed)
        self.model_manager.open()

    def show_shortcuts(self) -> None:
        from vivid_desktop.qt.project_dialogs import QtShortcutSheet

        self.shortcut_sheet = QtShortcutSheet(self)
        self.shortcut_sheet.open()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About VIVID Desktop",
            f"<b>VIVID Desktop {__version__}</b><br>Local video editing with VIVID/KIVE "
            "(arXiv 2411.15260) and a classical flow engine.",
        )
