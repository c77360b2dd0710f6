"""The editor on a remote runtime: Settings → Runtime, connecting over TLS, one clear line when refused."""

from __future__ import annotations

import pytest
from remote_server import make_certs, serve, write_token

pytest.importorskip("PySide6")


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("VIVID_DESKTOP_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("VIVID_DESKTOP_DATA", str(tmp_path / "data"))


@pytest.fixture
def settings(tmp_path):
    from vivid_desktop.qt.settings import AppSettings

    return AppSettings(tmp_path / "config" / "test-settings.ini")


def test_settings_page_stores_a_remote_runtime(qtbot, settings, tmp_path, monkeypatch):
    from vivid_desktop.qt import settings_dialog
    from vivid_desktop.qt.runtime_settings import runtime_spec

    warnings = []
    monkeypatch.setattr(settings_dialog.QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    dialog = settings_dialog.QtSettingsDialog(settings)
    qtbot.addWidget(dialog)
    page = dialog.runtime
    assert runtime_spec(settings) is None and not page.address.isEnabled()  # local by default
    page.mode.setCurrentIndex(page.mode.findData("remote"))
    assert page.address.isEnabled()
    page.address.setText("gpu-server")  # no port
    dialog.accept()
    assert warnings and "host:port" in warnings[-1] and dialog.result() == 0
    page.address.setText("gpu-server:7000")
    page.token.edit.setText(str(write_token(tmp_path / "token")))
    dialog.accept()
    assert dialog.result() == 1
    spec = runtime_spec(settings)
    assert spec is not None and str(spec.remote.endpoint) == "gpu-server:7000"
    assert spec.remote.endpoint.kind == "tls" and spec.remote.ca_file is None


def test_editor_connects_to_a_remote_runtime_and_names_a_refusal(qtbot, settings, tmp_path):
    from vivid_desktop.qt.main_window import MainWindow
    from vivid_desktop.qt.runtime_settings import runtime_spec

    certs = make_certs(tmp_path / "certs")
    token = write_token(tmp_path / "token")
    server = serve(tmp_path / "serve", certs.server, token)
    try:
        for key, value in {
            "mode": "remote",
            "address": server.address,
            "token_file": str(token),
            "ca_file": str(certs.ca.cert),
        }.items():
            settings.qsettings.setValue(f"runtime/{key}", value)
        window = MainWindow(settings=settings)
        window.show()
        try:
            window.start_runtime()
            qtbot.waitUntil(lambda: window.runtime.is_ready, timeout=30000)
            assert "flow" in window.runtime.engines() and "testing" in window.runtime.engines()
            assert window.runtime.pid is None  # nothing runs here
            # a wrong token: the runtime is dead at once (no retries), and the editor says why in one line
            settings.qsettings.setValue("runtime/token_file", str(write_token(tmp_path / "wrong")))
            window.runtime.spec = runtime_spec(settings)
            window.restart_runtime()
            qtbot.waitUntil(lambda: window.runtime.state == "dead", timeout=30000)
            line = f"the runtime at {server.address} refused the token"
            assert window.runtime.detail == line
            assert line in window.statusBar().currentMessage()
            from PySide6.QtWidgets import QMessageBox

            (box,) = window.findChildren(QMessageBox, "errorBox")
            assert box.text().splitlines()[0] == line
            box.close()
        finally:
            window.close()
    finally:
        server.stop()
