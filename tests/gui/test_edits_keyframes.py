"""The edits panel: edits as layers, fields with undo, keyframe preview and the image-editor round trip."""

from __future__ import annotations

import os

import numpy as np
from guitools import settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from vivid_desktop.core.files import read_png, write_png


def test_edits_layers_and_fields(qtbot, opened):
    w, s, panel = opened, opened.session, opened.edits_panel
    w.actions_by_name["new_delete"].trigger()
    w.actions_by_name["new_add"].trigger()
    project = s.project
    assert [e.task for e in project.edits] == ["delete", "add"]
    assert s.edit_id == project.edits[1].id
    assert panel.edit_list.count() == 2 and panel.edit_list.item(0).text().endswith(
        "add · flow"
    )  # top = last
    # caption, task and engine go to the model, each one undo step
    panel.caption.setFocus()
    panel.caption.setText("a red kite")
    panel.caption.editingFinished.emit()
    assert s.edit.caption == "a red kite"
    panel.task.setCurrentIndex(panel.task.findData("modify"))
    panel.task.activated.emit(panel.task.currentIndex())
    panel.engine.setCurrentIndex(panel.engine.findData("vivid"))
    panel.engine.activated.emit(panel.engine.currentIndex())
    assert (s.edit.task, s.edit.engine) == ("modify", "vivid")
    w.actions_by_name["undo"].trigger()
    w.actions_by_name["undo"].trigger()
    assert (s.edit.task, s.edit.engine, s.edit.caption) == ("add", "flow", "a red kite")
    assert panel.task.currentData() == "add"  # the view follows the model
    # deletion shows the paper's fixed caption and locks the field
    panel.edit_list.setCurrentRow(1)
    assert s.edit.task == "delete" and not panel.caption.isEnabled()
    assert panel.caption.placeholderText().startswith("remove objects")
    # layer order, visibility, deletion
    panel.up_button.click()
    assert [e.task for e in project.edits] == ["add", "delete"]
    panel.edit_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert project.edits[1].enabled is False
    panel.remove_button.click()
    assert [e.task for e in project.edits] == ["add"]
    w.actions_by_name["undo"].trigger()
    assert len(project.edits) == 2


def test_keyframes_list_add_remove(qtbot, opened):
    w, s, panel = opened, opened.session, opened.edits_panel
    s.new_edit("delete")
    s.seek(8)
    qtbot.waitUntil(lambda: panel.add_key.isEnabled())
    panel.add_key.click()
    assert s.keyframe_frames() == [8] and panel.key_list.count() == 1
    qtbot.waitUntil(lambda: bool(panel._thumbs), timeout=5000)
    assert w.timeline.keyframes == [8]
    panel.remove_key.click()
    assert s.keyframe_frames() == [] and panel.key_list.count() == 0


def _keyframe_with_mask(qtbot, w, frame: int, scene) -> None:
    s = w.session
    s.new_edit("delete")
    s.seek(frame)
    qtbot.waitUntil(lambda: s.painter.frame == frame)
    w.ensure_mask_target()
    s.painter.set_mask((scene.masks[frame] > 0).astype(np.uint8) * 255, "Paint")
    assert s.keyframe_frames() == [frame]


def test_preview_keyframe_before_after(qtbot, live, scene):
    w, s, panel = live, live.session, live.edits_panel
    _keyframe_with_mask(qtbot, w, 10, scene)
    with qtbot.waitSignal(w.keyframes.imported, timeout=60000):
        panel.preview_button.click()
    kf = s.edit.keyframe(10)
    assert kf.image is not None
    edited = read_png(s.store.path(kf.image), grey=False)
    source = np.asarray(s.frames.reader.read(10))
    inside = scene.masks[10] > 0
    assert np.abs(edited[inside].astype(int) - source[inside].astype(int)).mean() > 20  # the fill changed it
    # before/after: the viewer shows the keyframe side by side, source and edited
    qtbot.waitUntil(lambda: w.viewer.compare == "side" and w.viewer.badge.startswith("EDITED"), timeout=5000)
    assert s.frame == 10
    assert "edited" in panel.key_list.item(0).text()
    assert 10 in w.timeline.edited_keyframes


def test_preview_add_with_flow_explains(qtbot, live, scene):
    w, s, panel = live, live.session, live.edits_panel
    _keyframe_with_mask(qtbot, w, 4, scene)
    s.project.set_task(s.edit_id, "add")
    with qtbot.waitSignal(w.keyframes.previewState, timeout=60000, check_params_cb=lambda r, t: not r):
        panel.preview_button.click()
    assert "image editor" in panel.preview_status.text() or "vivid" in panel.preview_status.text()


def _save_like_an_editor(path, image) -> None:
    """Image editors often write a new file and rename it over the old one."""
    tmp = path.with_name(path.name + ".tmp-save")
    write_png(tmp, image)
    os.replace(tmp, path)


def test_external_editor_round_trip(qtbot, opened, scene):
    w, s = opened, opened.session
    _keyframe_with_mask(qtbot, w, 6, scene)
    opened_files = []
    w.keyframes.open_external = opened_files.append
    w.edits_panel.external_button.click()
    qtbot.waitUntil(lambda: len(opened_files) == 1, timeout=10000)  # written in the background
    path = opened_files[0]
    exported = read_png(path, grey=False)
    assert np.array_equal(exported, np.asarray(s.frames.reader.read(6)))
    for value in (30, 220):  # two saves in the editor: both come back
        painted = exported.copy()
        painted[scene.masks[6] > 0] = value
        with qtbot.waitSignal(w.keyframes.imported, timeout=10000):
            _save_like_an_editor(path, painted)
        kf = s.edit.keyframe(6)
        assert np.array_equal(read_png(s.store.path(kf.image), grey=False), painted)
    settle(qtbot)
    # Import… of any file works too
    other = path.with_name("other.png")
    write_png(other, exported)
    assert w.keyframes.import_file(other, 6)
    assert np.array_equal(s.store.read_keyframe_image(s.edit_id, 6), exported)
    w.exchange_box.close()  # the notice of what Ctrl+Shift+E wrote
    QTest.qWait(10)
