"""The edits panel: edits as layers (task, caption, engine), their keyframes, preview before/after.

A view of ``session.project``: it rebuilds from the project's change events and sends intents (add,
remove, reorder, change a field, add/remove a keyframe) to the project, each as one undo step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.project_events import EDIT_EVENTS, KeyframePainted, ProjectEvent, RenderAdded
from vivid_desktop.protocol.jobs import DELETE_CAPTION
from vivid_desktop.qt.preview_progress import QtPreviewProgress
from vivid_desktop.qt.session import EditorSession
from vivid_desktop.qt.style import icon

TASK_LABELS = {"delete": "Remove an object", "add": "Add an object", "modify": "Modify an object"}
ENGINE_LABELS = {"flow": "Flow (CPU)", "vivid": "VIVID (diffusion)"}


def _tool(icon_name: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setIcon(icon(icon_name))
    b.setToolTip(tip)
    b.setAutoRaise(True)
    return b


class QtEditsPanel(QWidget):
    """Edits list, the selected edit's fields and keyframes, and the keyframe preview."""

    previewRequested = Signal(int)
    externalRequested = Signal(int)
    importRequested = Signal(int)
    keyframeActivated = Signal(int)
    thumbnailsWanted = Signal()
    masksDropped = Signal(str, object)  # edit id, Path of a mask video, PNG folder or PNG
    previewCancelRequested = Signal()

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editsPanel")
        self.session = session
        self._thumbs: dict[tuple[str, int], QImage] = {}
        self._updating = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        layout.addWidget(self._edits_box())
        layout.addWidget(self._edit_form())
        layout.addWidget(self._keyframes_box())
        layout.addStretch(1)
        session.projectEvent.connect(self._on_project_event)
        session.editSelected.connect(lambda _e: self.refresh())
        session.opened.connect(self.refresh)
        session.closed.connect(self.refresh)
        session.frameChanged.connect(self._update_keyframe_buttons)
        self.setAcceptDrops(True)  # a mask video or PNG folder dropped on an edit: its masks
        self.refresh()

    # ---- dropping masks onto an edit ------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if self.session.store is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self.session.store is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        viewport = self.edit_list.viewport()
        item = self.edit_list.itemAt(viewport.mapFrom(self, event.position().toPoint()))
        edit_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else self.session.edit_id
        if urls and edit_id:
            self.masksDropped.emit(str(edit_id), Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

    # ---- construction ---------------------------------------------------------------------------
    def _edits_box(self) -> QGroupBox:
        box = QGroupBox("Edits (top applies last)")
        outer = QHBoxLayout(box)
        self.edit_list = QListWidget()
        self.edit_list.setObjectName("editList")
        self.edit_list.setFixedHeight(66)
        self.edit_list.currentRowChanged.connect(self._row_chosen)
        self.edit_list.itemChanged.connect(self._item_checked)
        outer.addWidget(self.edit_list, 1)
        row = QGridLayout()  # the buttons beside the list: 2 × 2
        row.setSpacing(0)
        self.add_button = _tool("add", "New edit")
        menu = QMenu(self.add_button)
        for task, label in TASK_LABELS.items():
            menu.addAction(label, lambda t=task: self.session.new_edit(t))
        self.add_button.setMenu(menu)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.remove_button = _tool("remove", "Delete the selected edit")
        self.up_button = QToolButton()
        self.up_button.setArrowType(Qt.ArrowType.UpArrow)
        self.up_button.setToolTip("Move up (applies later)")
        self.down_button = QToolButton()
        self.down_button.setArrowType(Qt.ArrowType.DownArrow)
        self.down_button.setToolTip("Move down (applies earlier)")
        for i, b in enumerate((self.add_button, self.up_button, self.remove_button, self.down_button)):
            row.addWidget(b, i // 2, i % 2)
        outer.addLayout(row)
        self.remove_button.clicked.connect(self._remove_edit)
        self.up_button.clicked.connect(lambda: self._move(+1))
        self.down_button.clicked.connect(lambda: self._move(-1))
        return box

    def _edit_form(self) -> QGroupBox:
        box = QGroupBox("Edit")
        form = QFormLayout(box)
        self.task = QComboBox()
        for task, label in TASK_LABELS.items():
            self.task.addItem(label, task)
        self.caption = QLineEdit()
        self.caption.setObjectName("caption")
        self.caption.setPlaceholderText("What the masked region should show, e.g. “a red vintage car”")
        self.engine = QComboBox()
        for engine, label in ENGINE_LABELS.items():
            self.engine.addItem(label, engine)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setMaximumWidth(96)
        for combo in (self.task, self.engine):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.caption.setMinimumWidth(80)
        self.seed.setToolTip("Seed of the diffusion model (same seed, same result)")
        engine_row = QHBoxLayout()
        engine_row.addWidget(self.engine, 1)
        engine_row.addWidget(QLabel("Seed"))
        engine_row.addWidget(self.seed)
        form.addRow("Task", self.task)
        form.addRow("Caption", self.caption)
        form.addRow("Engine", engine_row)
        self.task.activated.connect(lambda _i: self._set_field("task", self.task.currentData()))
        self.engine.activated.connect(lambda _i: self._set_field("engine", self.engine.currentData()))
        self.caption.editingFinished.connect(lambda: self._set_field("caption", self.caption.text()))
        self.seed.editingFinished.connect(lambda: self._set_field("seed", self.seed.value()))
        self.form_box = box
        return box

    def _keyframes_box(self) -> QGroupBox:
        box = QGroupBox("Keyframes")
        col = QVBoxLayout(box)
        self.key_list = QListWidget()
        self.key_list.setObjectName("keyframeList")
        self.key_list.setViewMode(QListView.ViewMode.IconMode)
        self.key_list.setFlow(QListView.Flow.LeftToRight)
        self.key_list.setWrapping(False)  # one row that scrolls sideways, like a filmstrip
        self.key_list.setIconSize(QSize(88, 50))
        self.key_list.setGridSize(QSize(100, 72))
        self.key_list.setFixedHeight(90)
        self.key_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.key_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.key_list.itemClicked.connect(
            lambda it: self.keyframeActivated.emit(int(it.data(Qt.ItemDataRole.UserRole)))
        )
        col.addWidget(self.key_list)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.add_key = QPushButton(icon("keyframe"), "Add")
        self.add_key.setToolTip(
            "Make the frame under the playhead a keyframe (its mask starts from the one shown)"
        )
        self.remove_key = QPushButton(icon("remove"), "")
        self.remove_key.setToolTip("Remove the keyframe under the playhead")
        self.preview_button = QPushButton(icon("preview"), "Preview")
        self.preview_button.setObjectName("previewButton")
        self.preview_button.setToolTip(
            "Edit this keyframe now and compare before/after in the viewer (Ctrl+P)"
        )
        self.external_button = QPushButton(icon("image-editor"), "")
        self.external_button.setToolTip("Open the keyframe in your image editor; saves there come back here")
        self.import_button = QPushButton(icon("open"), "")
        self.import_button.setToolTip("Use an image file as the edited keyframe")
        for b in (self.add_key, self.remove_key):
            row.addWidget(b)
        row.addStretch(1)
        for b in (self.preview_button, self.external_button, self.import_button):
            row.addWidget(b)
        col.addLayout(row)
        self.preview_progress = QtPreviewProgress()
        self.preview_progress.cancelRequested.connect(self.previewCancelRequested)
        col.addWidget(self.preview_progress)
        self.preview_status = QLabel("")
        self.preview_status.setWordWrap(True)
        col.addWidget(self.preview_status)
        self.add_key.clicked.connect(self.add_keyframe)
        self.remove_key.clicked.connect(self.remove_keyframe)
        self.preview_button.clicked.connect(lambda: self.previewRequested.emit(self.session.frame))
        self.external_button.clicked.connect(lambda: self.externalRequested.emit(self.session.frame))
        self.import_button.clicked.connect(lambda: self.importRequested.emit(self.session.frame))
        return box

    # ---- rendering the model --------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild everything from the project."""
        self._updating = True
        try:
            self._fill_edits()
            self._fill_form()
            self._fill_keyframes()
        finally:
            self._updating = False
        self._update_keyframe_buttons()
        self.thumbnailsWanted.emit()

    def _fill_edits(self) -> None:
        project = self.session.project
        self.edit_list.clear()
        if project is None:
            return
        # Top of the list = top layer = last edit.
        for edit in reversed(project.edits):
            item = QListWidgetItem(f"{edit.name} — {edit.task} · {edit.engine}")
            item.setData(Qt.ItemDataRole.UserRole, edit.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if edit.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(edit.effective_caption or "(no caption yet)")
            self.edit_list.addItem(item)
            if edit.id == self.session.edit_id:
                self.edit_list.setCurrentItem(item)

    def _fill_form(self) -> None:
        edit = self.session.edit
        self.form_box.setEnabled(edit is not None)
        has_project = self.session.project is not None
        for w in (self.add_button, self.remove_button, self.up_button, self.down_button):
            w.setEnabled(has_project and (w is self.add_button or edit is not None))
        if edit is None:
            self.caption.clear()
            return
        self.task.setCurrentIndex(self.task.findData(edit.task))
        self.engine.setCurrentIndex(self.engine.findData(edit.engine))
        self.seed.setValue(edit.seed)
        deleting = edit.task == "delete"
        self.caption.setEnabled(not deleting)
        self.caption.setText("" if deleting else edit.caption)
        self.caption.setPlaceholderText(
            DELETE_CAPTION if deleting else "What the masked region should show, e.g. “a red vintage car”"
        )

    def _fill_keyframes(self) -> None:
        self.key_list.clear()
        edit = self.session.edit
        if edit is None:
            return
        for kf in edit.keyframes:
            item = QListWidgetItem(self._keyframe_text(kf.frame, bool(kf.image)))
            item.setData(Qt.ItemDataRole.UserRole, kf.frame)
            thumb = self._thumbs.get((edit.id, kf.frame))
            if thumb is not None:
                item.setIcon(QIcon(QPixmap.fromImage(thumb)))
            else:
                item.setIcon(icon("keyframe"))
            self.key_list.addItem(item)

    def set_thumbnail(self, edit_id: str, frame: int, image: QImage) -> None:
        self._thumbs[(edit_id, frame)] = image
        if edit_id != self.session.edit_id:
            return
        for i in range(self.key_list.count()):
            item = self.key_list.item(i)
            if int(item.data(Qt.ItemDataRole.UserRole)) == frame:
                item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _keyframe_text(self, frame: int, edited: bool) -> str:
        """A keyframe's caption in the filmstrip; the one being previewed shows the step count."""
        bar = self.preview_progress
        if bar.frame == frame and bar.isVisibleTo(self):
            return f"Frame {frame} · {bar.bar.format().partition(' · ')[2] or 'preview'}"
        return f"Frame {frame}" + (" · edited" if edited else "")

    def _relabel_keyframes(self) -> None:
        edit = self.session.edit
        for i in range(self.key_list.count()):
            item = self.key_list.item(i)
            frame = int(item.data(Qt.ItemDataRole.UserRole))
            kf = edit.keyframe(frame) if edit is not None else None
            item.setText(self._keyframe_text(frame, bool(kf is not None and kf.image)))

    def show_preview_progress(self, frame: int, done: float, total: float, unit: str, message: str) -> None:
        """A keyframe preview runs: the bar and the keyframe's caption show its steps."""
        self.preview_progress.show_progress(frame, done, total, unit, message)
        self._relabel_keyframes()

    def show_preview_cancelling(self, frame: int) -> None:
        self.preview_progress.show_cancelling(frame)
        self._relabel_keyframes()

    def show_preview_state(self, running: bool, text: str) -> None:
        self.preview_status.setText(text)
        self.preview_button.setEnabled(not running and self._at_keyframe())
        if not running and self.preview_progress.isVisibleTo(self):
            self.preview_progress.show_idle()
            self._relabel_keyframes()

    def _at_keyframe(self) -> bool:
        edit = self.session.edit
        return edit is not None and edit.keyframe(self.session.frame) is not None

    def _update_keyframe_buttons(self, *_args) -> None:
        edit = self.session.edit
        at_key = self._at_keyframe()
        self.add_key.setEnabled(edit is not None and not at_key)
        for b in (self.remove_key, self.preview_button, self.external_button, self.import_button):
            b.setEnabled(at_key)
        for i in range(self.key_list.count()):
            item = self.key_list.item(i)
            item.setSelected(int(item.data(Qt.ItemDataRole.UserRole)) == self.session.frame)

    def _on_project_event(self, ev: ProjectEvent) -> None:
        if isinstance(ev, KeyframePainted):
            self._thumbs.pop((ev.edit_id, ev.frame), None)
            self.thumbnailsWanted.emit()
        elif isinstance(ev, (*EDIT_EVENTS, RenderAdded)):
            self.refresh()

    # ---- intents --------------------------------------------------------------------------------
    def _row_chosen(self, row: int) -> None:
        if self._updating or row < 0:
            return
        item = self.edit_list.item(row)
        self.session.select_edit(item.data(Qt.ItemDataRole.UserRole))

    def _item_checked(self, item: QListWidgetItem) -> None:
        if self._updating or self.session.project is None:
            return
        edit_id = item.data(Qt.ItemDataRole.UserRole)
        enabled = item.checkState() == Qt.CheckState.Checked
        with self.session.undo.transaction("Toggle edit"):
            self.session.project.set_enabled(edit_id, enabled)

    def _set_field(self, field: str, value) -> None:
        edit, project = self.session.edit, self.session.project
        if self._updating or edit is None or project is None or getattr(edit, field) == value:
            return
        try:
            with self.session.undo.transaction(f"Change {field}"):
                project.set_edit_field(edit.id, field, value)
        except ProjectError as exc:
            self.session.failed.emit("Cannot change the edit", str(exc))

    def _remove_edit(self) -> None:
        edit, project = self.session.edit, self.session.project
        if edit is not None and project is not None:
            with self.session.undo.transaction("Delete edit"):
                project.remove_edit(edit.id)

    def _move(self, delta: int) -> None:
        edit, project = self.session.edit, self.session.project
        if edit is not None and project is not None:
            with self.session.undo.transaction("Move edit"):
                project.move_edit(edit.id, project.edit_index(edit.id) + delta)

    def add_keyframe(self) -> None:
        store, edit = self.session.store, self.session.edit
        if store is None or edit is None or edit.keyframe(self.session.frame) is not None:
            return
        mask = store.frame_mask(edit.id, self.session.frame)
        with self.session.undo.transaction("Add keyframe"):
            store.add_keyframe(edit.id, self.session.frame, mask)
        self._update_keyframe_buttons()

    def remove_keyframe(self) -> None:
        edit, project = self.session.edit, self.session.project
        if edit is not None and project is not None and edit.keyframe(self.session.frame) is not None:
            with self.session.undo.transaction("Remove keyframe"):
                project.remove_keyframe(edit.id, self.session.frame)
            self._update_keyframe_buttons()
