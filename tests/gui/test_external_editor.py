"""Ctrl+Shift+E says what it wrote and where, offers the folder, and uses the chosen image editor."""

from __future__ import annotations

import os
import stat

import numpy as np
from guitools import settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from vivid_desktop.core.files import read_png, write_png


def _keyframe(s, scene, frame: int) -> None:
    s.seek(frame)
    s.new_edit("modify")
    s.store.add_keyframe(s.edit_id, frame, (scene.masks[frame] > 0).astype(np.uint8) * 255)


def _box(w):
    return getattr(w, "exchange_box", None)


def test_no_default_application_still_shows_the_file_and_its_folder(qtbot, opened, scene):
    w, s = opened, opened.session
    # an edit below with a rendered frame 6, so the frame under the new edit is not the source
    s.new_edit("delete")
    below_id = s.edit_id
    s.store.add_keyframe(below_id, 6, (scene.masks[6] > 0).astype(np.uint8) * 255)
    render = s.store.prepare_render(below_id, 0, 36)
    lower = np.asarray(s.frames.reader.read(6)).copy()
    lower[:20, :20] = (255, 0, 0)
    write_png(s.store.render_frame_path(render.id, 6), lower)
    _keyframe(s, scene, 6)
    w.keyframes.open_external = lambda _path: False  # no application registered for PNG files
    folders = []
    w.open_folder = folders.append
    qtbot.waitUntil(w.isActiveWindow)
    QTest.keyClick(w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: _box(w) is not None and _box(w).isVisible(), timeout=10000)
    box = _box(w)
    path = w.keyframes.exchange_path(s.edit_id, 6)
    assert path.name in box.text() and "source frame" in box.text()
    assert "No image editor opened it" in box.text()
    assert np.array_equal(read_png(path, grey=False), np.asarray(s.frames.reader.read(6)))
    below = path.with_name(path.stem + "-below.png")
    assert below.name in box.text()
    assert np.array_equal(read_png(below, grey=False)[:20, :20], lower[:20, :20])
    next(b for b in box.buttons() if b.text() == "Open folder").click()
    assert folders == [path.parent]
    settle(qtbot)


def test_the_image_editor_setting_is_the_program_started(qtbot, opened, scene, tmp_path):
    w, s = opened, opened.session
    marker = tmp_path / "editor-was-given.txt"
    editor = tmp_path / "fake-editor.sh"
    editor.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{marker}"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    w.settings.set("external/image_editor", str(editor))
    _keyframe(s, scene, 4)
    w.actions_by_name["external"].trigger()
    qtbot.waitUntil(lambda: _box(w) is not None and _box(w).isVisible(), timeout=10000)
    qtbot.waitUntil(marker.exists, timeout=10000)
    assert marker.read_text() == os.fspath(w.keyframes.exchange_path(s.edit_id, 4))
    assert "No image editor" not in _box(w).text() and "-below" not in _box(w).text()
    _box(w).close()  # Esc / the window's close button work too
    settle(qtbot)
    assert not _box(w).isVisible()
