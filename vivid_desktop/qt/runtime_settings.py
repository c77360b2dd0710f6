"""Settings → Runtime: run the model on this computer, or on a remote GPU server (``vivid-runtime serve``).

Remembered keys: ``runtime/mode`` (``local``/``remote``), ``runtime/address`` (``HOST:PORT``),
``runtime/token_file`` and ``runtime/ca_file``. :func:`runtime_spec` turns them into the client's launch
spec; a wrong token or an untrusted certificate ends the runtime as ``dead`` with one line that says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from vivid_desktop.qt.settings import AppSettings
from vivid_desktop.runtime_client import LaunchSpec, RemoteSpec, remote_launch_spec

log = logging.getLogger(__name__)

KEYS = {"mode": "local", "address": "", "token_file": "", "ca_file": ""}


def _value(settings: AppSettings, key: str) -> str:
    return str(settings.qsettings.value(f"runtime/{key}", KEYS[key]) or "")


def runtime_spec(settings: AppSettings) -> LaunchSpec | None:
    """The remote runtime the settings name, or None for the local one (also when they are unusable)."""
    if _value(settings, "mode") != "remote":
        return None
    ca = _value(settings, "ca_file")
    try:
        return remote_launch_spec(
            _value(settings, "address"), Path(_value(settings, "token_file")), Path(ca) if ca else None
        )
    except ValueError as exc:
        log.warning("remote runtime settings unusable (%s); using the local runtime", exc)
        return None


def check_remote(address: str, token_file: str, ca_file: str) -> str:
    """Why these remote settings cannot work ("" when they can)."""
    try:
        RemoteSpec.parse(address, Path(token_file))
    except ValueError as exc:
        return f"Server: {exc} (write it as host:port, e.g. gpu-server:7000)"
    if not Path(token_file).is_file():
        return "Token file: choose the file with the server's token"
    if ca_file and not Path(ca_file).is_file():
        return f"CA: {ca_file} does not exist"
    return ""


class _FileField(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        browse = QPushButton("Browse…")
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        browse.clicked.connect(lambda: self._pick(title))

    def _pick(self, title: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title)
        if path:
            self.edit.setText(path)


class QtRuntimeSettings(QGroupBox):
    """The Runtime group of the settings dialog."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__("Runtime", parent)
        self.setObjectName("runtimeSettings")
        self.settings = settings
        form = QFormLayout(self)
        self.mode = QComboBox()
        self.mode.addItem("On this computer", "local")
        self.mode.addItem("On a remote server (vivid-runtime serve)", "remote")
        self.address = QLineEdit()
        self.address.setPlaceholderText("gpu-server:7000")
        self.token = _FileField("Token file")
        self.ca = _FileField("CA certificate (PEM)")
        self.ca.edit.setPlaceholderText("the system's certificate authorities")
        form.addRow("Run the model", self.mode)
        form.addRow("Server", self.address)
        form.addRow("Token file", self.token)
        form.addRow("CA", self.ca)
        self.mode.currentIndexChanged.connect(self._update)
        self.load()

    def _update(self) -> None:
        remote = self.mode.currentData() == "remote"
        for widget in (self.address, self.token, self.ca):
            widget.setEnabled(remote)

    def load(self) -> None:
        self.mode.setCurrentIndex(max(0, self.mode.findData(_value(self.settings, "mode"))))
        self.address.setText(_value(self.settings, "address"))
        self.token.edit.setText(_value(self.settings, "token_file"))
        self.ca.edit.setText(_value(self.settings, "ca_file"))
        self._update()

    def problem(self) -> str:
        """Why the page cannot be stored as it is ("" when it can)."""
        if self.mode.currentData() != "remote":
            return ""
        return check_remote(
            self.address.text().strip(), self.token.edit.text().strip(), self.ca.edit.text().strip()
        )

    def store(self) -> None:
        q = self.settings.qsettings
        q.setValue("runtime/mode", self.mode.currentData())
        q.setValue("runtime/address", self.address.text().strip())
        q.setValue("runtime/token_file", self.token.edit.text().strip())
        q.setValue("runtime/ca_file", self.ca.edit.text().strip())
