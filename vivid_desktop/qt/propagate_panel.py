"""The Propagate panel: the plan in words, the button, progress with ETA, cancel and resume."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vivid_desktop.core.estimates import PlanEstimate, describe_duration
from vivid_desktop.core.hygiene import human_size
from vivid_desktop.qt.propagate import PropagateController
from vivid_desktop.qt.style import icon


class QtPropagatePanel(QWidget):
    """Start, watch and stop the render of the selected edit."""

    runRequested = Signal()

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
        self.run_button.clicked.connect(self.runRequested)  # the window confirms the plan first
        self.cancel_button.clicked.connect(controller.cancel)
        self.resume_button.clicked.connect(controller.resume)
        self.follow.toggled.connect(lambda on: setattr(controller, "follow", on))
        controller.stateChanged.connect(self.show_state)
        controller.speedMeasured.connect(self.refresh)
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
        self.plan_label.setText(self.controller.estimate_text(self.track_first.isChecked()))
        self.resume_button.setEnabled(self.controller.can_resume())
        has_edit = self.controller.session.edit is not None
        self.run_button.setEnabled(has_edit and not self.controller.running)


class QtPlanDialog(QDialog):
    """Before Propagate: windows, frames, time (tracking included), disk needed; "don't ask again"."""

    def __init__(self, estimate: PlanEstimate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Propagate")
        self.setObjectName("planDialog")
        col = QVBoxLayout(self)
        rows = [
            ("Engine", estimate.engine),
            ("Frames", str(estimate.frames)),
            ("Windows", f"{estimate.windows} (up to 49 frames each)" if estimate.engine == "vivid" else "1"),
            ("Tracking first", f"{estimate.track_frames} frames" if estimate.track_frames else "no"),
            ("Time", f"about {describe_duration(estimate.seconds)}"
             + ("" if estimate.measured else " (a first guess: nothing measured on this machine yet)")),
            ("Disk needed", f"about {human_size(estimate.disk_bytes)}"
             + (f" ({human_size(estimate.free_bytes)} free)" if estimate.free_bytes is not None else "")),
        ]  # fmt: skip
        self.summary = QLabel("<table>" + "".join(f"<tr><td>{k}&nbsp;&nbsp;</td><td><b>{v}</b></td></tr>"
                                                  for k, v in rows) + "</table>")  # fmt: skip
        self.summary.setObjectName("planSummary")
        col.addWidget(self.summary)
        if estimate.free_bytes is not None and estimate.free_bytes < estimate.disk_bytes:
            warning = QLabel("There is not enough free disk space for every frame of this render.")
            warning.setObjectName("planWarning")
            col.addWidget(warning)
        self.dont_ask = QCheckBox("Don't ask again (Settings brings it back)")
        col.addWidget(self.dont_ask)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = buttons.addButton("Propagate", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
