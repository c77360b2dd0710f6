"""File ▸ Open takes a project folder directly; revert to a backup; disk use and clean-up."""

from __future__ import annotations

import numpy as np
from guitools import settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from vivid_desktop.core import hygiene
from vivid_desktop.core.files import write_png


def test_entering_a_project_folder_in_the_open_dialog_opens_it(qtbot, opened, clip):
    w = opened
    folder = w.session.store.folder
    w.session.close_project()
    dialog = w.make_open_dialog()
    dialog.open()
    dialog.setDirectory(str(folder.parent))  # an ordinary folder: the dialog just shows it
    settle(qtbot, 20)
    assert dialog.isVisible() and w.session.store is None
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    name.setText(str(folder))  # NAME.vivid typed (or double-clicked): opened at once, not entered
    QTest.keyClick(name, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.session.store is not None, timeout=20000)
    assert not dialog.isVisible() and w.session.store.folder == folder


def test_revert_to_backup_brings_the_older_state_back(qtbot, opened):
    w, s = opened, opened.session
    s.new_edit("delete")
    s.store.save(backup=True)
    s.new_edit("add")
    s.store.save(backup=False)
    assert len(s.project.edits) == 2
    w.show_backups()
    dialog = w.backups_dialog
    assert dialog.list.count() >= 1 and "20" in dialog.list.item(0).text()  # dated
    folder = s.store.folder
    dialog.list.setCurrentRow(0)
    dialog.revert_button.click()
    qtbot.waitUntil(lambda: s.store is not None and s.store.folder == folder, timeout=20000)
    assert [e.task for e in s.project.edits] == ["delete"]
    kept = [b.path.name for b in hygiene.backups(s.store)]
    assert any(name.startswith("project-before-revert-") for name in kept)  # a revert can be undone


def test_disk_use_and_cleaning_superseded_renders_and_caches(qtbot, opened):
    w, s = opened, opened.session
    s.new_edit("delete")
    store = s.store
    store.add_keyframe(s.edit_id, 0, np.full((112, 192), 255, np.uint8))
    frame = np.zeros((112, 192, 3), np.uint8)
    old = store.prepare_render(s.edit_id, 0, 10)
    new = store.prepare_render(s.edit_id, 0, 10)
    for render in (old, new):
        for n in range(10):
            write_png(store.render_frame_path(render.id, n), frame, durable=False)
    (store.cache_dir("previews") / "junk.png").write_bytes(b"x" * 5000)
    w.show_disk_use()
    dialog = w.disk_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() > 0, timeout=10000)
    assert "1 render(s)" in dialog.renders.text()
    dialog.clean_button.click()
    qtbot.waitUntil(lambda: "Freed" in w.statusBar().currentMessage(), timeout=10000)
    assert [r.id for r in s.edit.renders] == [new.id]
    assert not store.render_dir(old.id).exists() and store.render_dir(new.id).is_dir()
    assert not (store.folder / "cache" / "previews").exists()
    dialog.close()
