"""Everything usable on a 1366×768 screen; the Train tab and dialogs tell the truth about the machine."""

from __future__ import annotations

from pathlib import Path

from guitools import settle
from PySide6.QtCore import QPointF

from vivid_desktop.datasets.scan import DatasetSummary
from vivid_desktop.protocol.messages import RuntimeFacts
from vivid_desktop.qt.menus import shortcut_rows
from vivid_desktop.qt.settings_dialog import QtSettingsDialog
from vivid_desktop.qt.trainer_tab import describe
from vivid_desktop.qt.viewer import QtViewer


def test_the_window_and_the_train_tab_fit_1366_by_768(qtbot, window, settings):
    w = window
    settings.qsettings.setValue("models/current", "/models/vivid-5b")
    w.resize(1366, 768)
    settle(qtbot, 50)
    assert w.minimumSizeHint().width() <= 1366 and w.minimumSizeHint().height() <= 768
    w.workspaces.show_trainer()
    settle(qtbot, 100)
    assert w.width() <= 1366 and w.height() <= 768, (w.width(), w.height())
    assert w.minimumSizeHint().height() <= 768
    tab = w.workspaces.trainer
    assert tab.model_edit.text() == "/models/vivid-5b"  # the chosen model, not an empty field
    w.workspaces.show_editor()


def test_a_cpu_machine_gets_the_cpu_preset_and_no_gpu_memory_mode(qtbot, window, settings):
    w = window
    w.workspaces.show_trainer()
    tab = w.workspaces.trainer
    w.runtime.factsReady.emit(RuntimeFacts(torch="2.5.0", gpus=[]))
    assert tab.settings.preset_name() == "CPU"
    assert "GB" not in tab.settings.preset.currentText()
    w.workspaces.show_editor()
    on_cpu = QtSettingsDialog(settings, has_gpu=False)
    on_gpu = QtSettingsDialog(settings, has_gpu=True)
    for d in (on_cpu, on_gpu):
        qtbot.addWidget(d)
        d.show()
    assert not on_cpu.memory.isVisible() and on_gpu.memory.isVisible()


def test_the_sample_count_is_the_tables_row_count():
    summary = DatasetSummary(Path("data"), "folder", samples=4, videos=3, images=1, validation=2, problems=1)
    assert describe(summary).startswith("7 rows: 4 for training (3 videos, 1 image), 2 for validation")


def test_shortcut_sheet_lists_every_key_and_scrolls_within_the_screen(qtbot, window):
    w = window
    w.show_shortcuts()
    sheet = w.shortcut_sheet
    qtbot.waitExposed(sheet)
    available = sheet.screen().availableGeometry()
    assert sheet.height() <= available.height() and sheet.width() <= available.width()
    rows = shortcut_rows()
    assert sheet.table.rowCount() == len(rows)
    texts = {sheet.table.item(r, 1).text(): sheet.table.item(r, 2).text() for r in range(len(rows))}
    assert texts["Go to timecode or frame"] == "Ctrl+G" and texts["Propagate"] == "Ctrl+Return, Ctrl+Enter"
    # every action with a key in the menus is on the sheet
    keyed = [a for a in w.actions_by_name.values() if a.shortcuts()]
    assert len(keyed) == len(rows)
    assert sheet.table.verticalScrollBar().maximum() > 0  # longer than the sheet: it scrolls
    sheet.close()


def test_side_by_side_stacks_on_a_tall_view(qtbot):
    viewer = QtViewer()
    qtbot.addWidget(viewer)
    viewer.set_frame_size(1280, 720)
    viewer.set_compare("side")
    viewer.resize(700, 800)
    viewer.show()
    qtbot.waitExposed(viewer)
    viewer.zoom_fit()
    assert viewer.stacked
    top, bottom = viewer.image_rect(0), viewer.image_rect(1)
    assert bottom.top() > top.bottom() and abs(top.left() - bottom.left()) < 1
    assert viewer.zoom > 0.45  # across, each pane would get 700/2 px of 1280: 0.26
    viewer.resize(1400, 400)
    settle(qtbot, 20)
    assert not viewer.stacked and viewer.image_rect(1).left() > viewer.image_rect(0).right()
    assert viewer.view_to_image(viewer.image_to_view(QPointF(10, 20))) == QPointF(10, 20)
