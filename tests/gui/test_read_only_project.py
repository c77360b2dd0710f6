"""A crafted project opens read-only in the editor, which says which entries it left out and saves nothing."""

from __future__ import annotations

import json

from guitools import wait_open
from PySide6.QtWidgets import QMessageBox


def test_a_crafted_project_opens_read_only_with_a_message(qtbot, window, clip):
    wait_open(qtbot, window, clip)
    store = window.session.store
    edit = store.project.add_edit(task="delete")
    store.add_keyframe(edit.id, 3)
    folder = store.folder
    window.session.close_project()
    data = json.loads((folder / "project.json").read_text())
    data["edits"][0]["keyframes"][0]["mask"] = "../../outside/victim.png"
    (folder / "project.json").write_text(json.dumps(data))
    before = (folder / "project.json").read_bytes()

    window.open_path(folder)
    qtbot.waitUntil(lambda: window.session.store is not None, timeout=20000)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "errorBox") is not None, timeout=5000)
    box = window.findChild(QMessageBox, "errorBox")
    assert "read-only" in box.windowTitle() and "'../../outside/victim.png'" in box.text()
    assert window.session.store.read_only and window.session._autosaver is None
    box.done(0)
    window.session.close_project()
    assert (folder / "project.json").read_bytes() == before
