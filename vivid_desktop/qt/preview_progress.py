"""The keyframe preview's progress: a determinate bar of the denoising steps and a Cancel button.

A view only: ``KeyframeController`` says what runs (``previewProgress``, ``previewCancelling``,
``previewState``); the Cancel button asks it to stop (``cancelRequested``). Hidden while no preview runs.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from vivid_desktop.qt.style import icon


class QtPreviewProgress(QWidget):
    """``Keyframe 12 · step 3/50`` as a bar, with Cancel (Esc)."""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewProgressRow")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.bar = QProgressBar()
        self.bar.setObjectName("previewProgress")
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.setObjectName("previewCancel")
        self.cancel_button.setToolTip("Stop this preview (Esc); the keyframe keeps the image it has")
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.frame: int | None = None
        self.cancelling = False
        self.show_idle()

    def show_progress(self, frame: int, done: float, total: float, unit: str, message: str) -> None:
        """Steps counted (``unit`` set): a determinate bar; before that (loading the model): busy."""
        self.frame = frame
        self.setVisible(True)
        if self.cancelling:
            return  # steps that were under way when Cancel was pressed do not bring the bar back
        if unit and total > 0:
            self.bar.setRange(0, int(total))
            self.bar.setValue(int(done))
            self.bar.setFormat(f"Keyframe {frame} · {unit} {int(done)}/{int(total)}")
        else:
            self.bar.setRange(0, 0)  # busy: nothing counted yet
            self.bar.setFormat(f"Keyframe {frame} · {message or 'starting'} …")
        self.cancel_button.setEnabled(True)

    def show_cancelling(self, frame: int) -> None:
        self.cancelling = True
        self.cancel_button.setEnabled(False)
        self.bar.setFormat(f"Cancelling the preview of keyframe {frame} …")

    def show_idle(self) -> None:
        self.frame, self.cancelling = None, False
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.cancel_button.setEnabled(False)
        self.setVisible(False)
