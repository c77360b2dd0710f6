"""No silent failures: every button of every dialog once, and an error in a slot reaches the user."""

from __future__ import annotations

import logging

import pytest
from guitools import settle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QMessageBox, QPushButton

from vivid_desktop.qt.settings_dialog import QtSettingsDialog


@pytest.fixture
def file_dialogs(tmp_path, monkeypatch):
    """File dialogs answer at once with paths under the test's folder (as a user picking them)."""
    folder = tmp_path / "picked"
    folder.mkdir()
    lora = folder / "style.safetensors"
    lora.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(lora), "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(lora)], "")))
    out = tmp_path / "out" / "export.mp4"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    return folder, lora


def test_settings_add_puts_the_folder_and_lora_in_the_lists(qtbot, settings, file_dialogs):
    folder, lora = file_dialogs
    dialog = QtSettingsDialog(settings)
    qtbot.addWidget(dialog)
    for path_list in (dialog.model_dirs, dialog.loras):
        add = next(b for b in path_list.findChildren(QPushButton) if b.text() == "Add…")
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)  # twice: no duplicate
    assert dialog.model_dirs.paths() == [str(folder)]
    assert dialog.loras.paths() == [str(lora)]


def _click_each_button(qtbot, make) -> int:
    """Open a fresh dialog per button (OK and Cancel close it) and click that one button."""
    first = make()
    count = len([b for b in first.findChildren(QAbstractButton) if b.isVisible()])
    first.close()
    for i in range(count):
        dialog = make()
        buttons = [b for b in dialog.findChildren(QAbstractButton) if b.isVisible()]
        if i < len(buttons) and buttons[i].isEnabled():
            qtbot.mouseClick(buttons[i], Qt.MouseButton.LeftButton)
            settle(qtbot, 30)
        for box in dialog.findChildren(QMessageBox):
            box.close()
        dialog.close()
        settle(qtbot, 10)
    return count


def test_every_button_of_every_dialog(qtbot, opened, file_dialogs):
    """pytest-qt fails the test on any exception a click raises in a slot."""
    from vivid_desktop.qt.export_dialog import QtExportDialog
    from vivid_desktop.qt.model_manager import ModelManagerDialog

    w = opened

    def shown(dialog):
        dialog.show()
        qtbot.waitExposed(dialog)
        return dialog

    from vivid_desktop.core import hygiene
    from vivid_desktop.qt.project_dialogs import QtBackupsDialog, QtDiskUseDialog, QtShortcutSheet
    from vivid_desktop.qt.propagate_panel import QtPlanDialog

    w.session.new_edit("delete")
    w.session.store.save(backup=True)
    makers = {
        "backups": lambda: shown(QtBackupsDialog(hygiene.backups(w.session.store), w)),
        "disk use": lambda: shown(QtDiskUseDialog(w)),
        "shortcuts": lambda: shown(QtShortcutSheet(w)),
        "plan": lambda: shown(QtPlanDialog(w.propagate.plan_estimate(), w)),
        "settings": lambda: shown(QtSettingsDialog(w.settings, w)),
        "models": lambda: shown(ModelManagerDialog(w.settings, w.relay, w)),
        "export": lambda: shown(QtExportDialog(w.session, w.settings, w)),
    }
    clicked = {name: _click_each_button(qtbot, make) for name, make in makers.items()}
    assert all(n >= 1 for n in clicked.values()) and clicked["settings"] >= 6, clicked
    qtbot.waitUntil(lambda: not any(d.isVisible() for d in w.findChildren(ModelManagerDialog)))
    for manager in w.findChildren(ModelManagerDialog):
        manager._pool.shutdown()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_reaches_the_status_bar_a_dialog_and_the_log(qtbot, window, caplog):
    button = QPushButton("broken", window)
    button.clicked.connect(lambda: 1 / 0)
    button.show()
    with caplog.at_level(logging.ERROR, logger="vivid_desktop.errors"):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "ZeroDivisionError" in window.statusBar().currentMessage())
    boxes = [b for b in window.findChildren(QMessageBox, "errorBox") if b.isVisible()]
    assert boxes and "ZeroDivisionError" in boxes[0].text()
    assert any("ZeroDivisionError" in r.getMessage() for r in caplog.records)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # a second error while the box is up: no pile
    settle(qtbot, 50)
    assert len([b for b in window.findChildren(QMessageBox, "errorBox") if b.isVisible()]) == 1
    for box in boxes:
        box.close()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_relayed_callback_reaches_the_user(qtbot, window):
    def broken() -> None:
        raise ValueError("the callback broke")

    window.relay.post(broken)
    qtbot.waitUntil(lambda: "the callback broke" in window.statusBar().currentMessage())
    for box in window.findChildren(QMessageBox, "errorBox"):
        box.close()
