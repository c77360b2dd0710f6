"""The Propagate panel: the plan in words, the button, progress with ETA, cancel and resume."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.qt.propagate import PropagateController
from vivid_desktop.qt.style import icon


class QtPropagatePanel(QWidget):
    """Start, watch and stop the render of the selected edit."""

    def __init__(self, controller: PropagateController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("propagatePanel")
        self.controller = controller
        col = QVBoxLayout(self)
        self.plan_label = QLabel("")
        self.plan_label.setWordWrap(True)
        self.plan_label.setObjectName("planLabel")
        col.addWidget(self.plan_label)
        self.track_first = QCheckBox("Track mask first")
        self.track_first.setChecked(True)
        self.track_first.setToolTip(
            "Carry the keyframe masks through the range before rendering (if not done yet)"
        )
        self.follow = QCheckBox("Follow frames")
        self.follow.setToolTip("Show each frame in the viewer as it arrives")
        self.follow.setChecked(True)
        checks = QHBoxLayout()
        checks.addWidget(self.track_first)
        checks.addWidget(self.follow)
        checks.addStretch(1)
        col.addLayout(checks)
        row = QHBoxLayout()
        self.run_button = QPushButton(icon("propagate"), "Propagate")
        self.run_button.setObjectName("primary")
        self.run_button.setToolTip("Render the edit over the in/out range (Ctrl+Return)")
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue an interrupted render from the frames already on disk")
        row.addWidget(self.run_button, 2)
        row.addWidget(self.cancel_button, 1)
        row.addWidget(self.resume_button, 1)
        col.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("")
        col.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        self.latent = QLabel()
        self.latent.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.latent.setVisible(False)
        self.latent_caption = QLabel("")
        self.latent_caption.setObjectName("latentCaption")
        self.latent_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.latent_caption.setVisible(False)
        col.addWidget(self.latent)
        col.addWidget(self.latent_caption)
        self.run_button.clicked.connect(
            lambda: controller.propagate(track_first=self.track_first.isChecked())
        )
        self.cancel_button.clicked.connect(controller.cancel)
        self.resume_button.clicked.connect(controller.resume)
        self.follow.toggled.connect(lambda on: setattr(controller, "follow", on))
        controller.stateChanged.connect(self.show_state)
        controller.resumable.connect(lambda ok: self.resume_button.setEnabled(ok))
        self.show_state(False, 0.0, "")

    def show_state(self, running: bool, fraction: float, text: str) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.controller.can_resume())
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        self.progress.setFormat(f"{fraction * 100:.0f} %" if running or fraction else "")
        if text:
            self.status.setText(text)
        if not running:
            self.latent.setVisible(False)
            self.latent_caption.setVisible(False)

    def reset(self) -> None:
        """Another project: no progress, no message of the last one."""
        self.status.setText("")
        self.show_state(False, 0.0, "")
        self.refresh()

    def show_latent(self, image: QImage, caption: str = "") -> None:
        """The engine's working preview (the vivid engine: a latent of the window being denoised)."""
        self.latent.setToolTip(caption)
        self.latent_caption.setText(caption)
        self.latent_caption.setVisible(bool(caption))
        self.latent.setPixmap(
            QPixmap.fromImage(image).scaledToWidth(200, Qt.TransformationMode.SmoothTransformation)
        )
        self.latent.setVisible(True)

    def refresh(self) -> None:
        self.plan_label.setText(self.controller.estimate_text())
        self.resume_button.setEnabled(self.controller.can_resume())
        has_edit = self.controller.session.edit is not None
        self.run_button.setEnabled(has_edit and not self.controller.running)
