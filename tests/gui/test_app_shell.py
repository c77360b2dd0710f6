"""Start-up, settings, export dialog, crash recovery, runtime restart, resume, the demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vivid_desktop.media.probe import probe
from vivid_desktop.qt.demo import DEMO_FRAMES, DEMO_KEYFRAMES, create_demo_project
from vivid_desktop.qt.model_manager import vivid_engine_settings
from vivid_desktop.qt.recovery import SessionMarker
from vivid_desktop.qt.settings import AppSettings
from vivid_desktop.qt.settings_dialog import QtSettingsDialog


def test_window_is_interactive_fast_and_without_torch(tmp_path, timed):
    report = tmp_path / "startup.json"
    env = dict(os.environ, VIVID_DESKTOP_STARTUP_REPORT=str(report), QT_QPA_PLATFORM="offscreen")
    t0 = time.time()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from vivid_desktop.qt.app import main; sys.exit(main(sys.argv[1:]))",
            "--no-runtime",
            "--quit-after",
            "0.2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(report.read_text())
    assert doc["torch_imported"] is False
    assert doc["shown_at"] - t0 < 2.0 or not timed, f"window shown {doc['shown_at'] - t0:.2f} s after launch"


def test_settings_dialog_remembers(qtbot, tmp_path):
    path = tmp_path / "s.ini"
    dialog = QtSettingsDialog(AppSettings(path))
    qtbot.addWidget(dialog)
    dialog.model_dirs.set_paths([str(tmp_path / "cogvideox")])
    dialog.loras.set_paths([str(tmp_path / "style.safetensors")])
    dialog.memory.setCurrentIndex(dialog.memory.findData("vae_tiling"))
    dialog.engine.setCurrentIndex(dialog.engine.findData("vivid"))
    dialog.proxy.setChecked(False)
    dialog.proxy_lines.setValue(360)
    dialog.accept()
    again = AppSettings(path)
    assert again.get("models/folders") == [str(tmp_path / "cogvideox")]
    assert again.get("proxy/enabled") is False and again.get("proxy/lines") == 360
    assert again.get("engine/default") == "vivid"
    assert vivid_engine_settings(again) == {
        "memory": "vae_tiling",
        "model": str(tmp_path / "cogvideox"),
        "loras": [{"path": str(tmp_path / "style.safetensors"), "weight": 1.0, "name": "style"}],
    }
    reopened = QtSettingsDialog(again)
    qtbot.addWidget(reopened)
    assert reopened.memory.currentData() == "vae_tiling" and not reopened.proxy.isChecked()


def answer(box, text: str) -> None:
    next(b for b in box.buttons() if b.text().replace("&", "") == text).click()


def test_export_dialog_png_masks_and_cancel(qtbot, opened, scene, tmp_path):
    w, s = opened, opened.session
    s.new_edit("delete")
    s.store.add_keyframe(s.edit_id, 0, (scene.masks[0] > 0).astype(np.uint8) * 255)
    s.project.set_range(4, 14)
    w.show_export()
    d = w.export_dialog
    assert d.range.currentData() == "marks" and d.frame_range() == (4, 14)
    d.preset.setCurrentIndex(d.preset.findData("png"))
    d.path.setText(str(tmp_path / "frames"))
    d.start_export()
    # the edit is not rendered: the dialog says so and exports only when told to
    qtbot.waitUntil(lambda: d.question is not None)
    assert "frames 4–13 are not rendered" in d.question.text()
    answer(d.question, "Export anyway")
    qtbot.waitUntil(lambda: not d.running, timeout=30000)
    assert d.error is None, d.status.text()
    assert sorted(p.name for p in (tmp_path / "frames").iterdir())[:2] == ["000000.png", "000001.png"]
    assert len(list((tmp_path / "frames").glob("*.png"))) == 10
    d.preset.setCurrentIndex(d.preset.findData("mask"))
    d.path.setText(str(tmp_path / "mask.mkv"))
    d.range.setCurrentIndex(d.range.findData("all"))
    d.start_export()
    qtbot.waitUntil(lambda: not d.running, timeout=30000)
    assert d.error is None, d.status.text()
    assert probe(tmp_path / "mask.mkv").frame_count == 36
    d.preset.setCurrentIndex(d.preset.findData("h264"))
    d.path.setText(str(tmp_path / "cancelled.mp4"))
    d.start_export()
    d.cancel_export()
    qtbot.waitUntil(lambda: not d.running, timeout=30000)
    assert d.error == "cancelled" and not (tmp_path / "cancelled.mp4").exists()
    d.close()


def test_crash_marker(tmp_path, qtbot, window, clip):
    marker = SessionMarker(tmp_path / "m.json")
    project = tmp_path / "x.vivid"
    project.mkdir()
    (project / "project.json").write_text("{}")
    assert marker.crashed_project() is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    marker.path.write_text(json.dumps({"project": str(project), "pid": dead.pid}))
    assert marker.crashed_project() == project  # its process is gone: it crashed
    marker.mark_open(project)
    assert marker.crashed_project() is None  # this very process has it open
    marker.mark_closed()
    assert not marker.path.exists()
    # the window keeps the marker while a project is open
    from guitools import wait_open

    wait_open(qtbot, window, clip)
    doc = json.loads(window.marker.path.read_text())
    assert Path(doc["project"]) == window.session.store.folder and doc["pid"] == os.getpid()
    window.session.close_project()
    assert not window.marker.path.exists()


def test_runtime_crash_is_shown_and_restarts(qtbot, live):
    w = live
    pid = w.runtime.pid
    states: list[str] = []
    w.runtime.stateChanged.connect(lambda st, _d: states.append(st))
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: w.runtime.is_ready and w.runtime.pid not in (None, pid), timeout=30000)
    assert "restarting" in states
    assert "ready" in w.runtime_label.text()
    assert w.session.store is not None and w.session.store.project_file.is_file()


def test_cancel_then_resume_keeps_finished_frames(qtbot, live, scene):
    w, s = live, live.session
    s.new_edit("delete")
    for f in (0, 18):
        s.store.add_keyframe(s.edit_id, f, (scene.masks[f] > 0).astype(np.uint8) * 255)
    w.propagate_panel.track_first.setChecked(False)
    first: list[int] = []

    def cancel_on_first(frame: int, _preview) -> None:
        if not first:
            first.append(frame)
            w.propagate_panel.cancel_button.click()

    w.propagate.frameRendered.connect(cancel_on_first)
    with qtbot.waitSignal(w.propagate.finished, timeout=60000) as done:
        w.propagate_panel.run_button.click()
    w.propagate.frameRendered.disconnect(cancel_on_first)
    render = s.edit.renders[-1]
    done_before = s.store.rendered_frames(render.id)
    assert done.args == ["cancelled"] and render.status == "cancelled"
    assert w.propagate_panel.resume_button.isEnabled()
    stamps = {f: s.store.render_frame_path(render.id, f).stat().st_mtime_ns for f in done_before}
    with qtbot.waitSignal(w.propagate.finished, timeout=60000) as done:
        w.propagate_panel.resume_button.click()
    assert done.args == ["succeeded"]
    assert s.store.rendered_frames(render.id) == list(range(36))
    assert all(s.store.render_frame_path(render.id, f).stat().st_mtime_ns == t for f, t in stamps.items())
    # nothing changed since: propagate again renders nothing
    with qtbot.waitSignal(w.propagate.finished, timeout=10000) as done:
        w.propagate_panel.run_button.click()
    assert done.args == ["unchanged"]
    # a new keyframe re-renders only its neighbourhood (from the keyframe before it to the end)
    s.store.add_keyframe(s.edit_id, 30, (scene.masks[30] > 0).astype(np.uint8) * 255)
    with qtbot.waitSignal(w.propagate.finished, timeout=60000) as done:
        w.propagate_panel.run_button.click()
    newest = s.edit.renders[-1]
    assert done.args == ["succeeded"] and (newest.start, newest.stop) == (18, 36)
    assert s.store.final_frame_path(31).parent.name == newest.id
    assert s.store.final_frame_path(5).parent.name == render.id


def test_demo_project_is_ready_to_propagate(tmp_path):
    store = create_demo_project(tmp_path / "demo")
    (edit,) = store.project.edits
    assert (edit.task, edit.engine) == ("delete", "flow")
    assert [k.frame for k in edit.keyframes] == list(DEMO_KEYFRAMES)
    assert all((store.read_mask(edit.id, f) > 127).sum() > 1000 for f in DEMO_KEYFRAMES)
    info = probe(store.project.source.path)
    assert info.frame_count == DEMO_FRAMES and info.has_audio
    again = create_demo_project(tmp_path / "demo")  # a fresh copy each time
    assert again.project.edits[0].id != edit.id


def test_autosave_and_drop_to_open(qtbot, window, clip, scene):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.session.store is not None, timeout=20000)
    s = window.session
    assert s.store.folder == clip.parent / "clip.vivid"
    s.new_edit("delete")
    window.ensure_mask_target()
    s.painter.set_mask((scene.masks[0] > 0).astype(np.uint8) * 255, "Paint")
    mask_file = s.store.mask_path(s.edit_id, 0)
    # autosaved, no Save pressed (how soon is tests/core/test_autosave.py's, under the perf marker)
    qtbot.waitUntil(
        lambda: mask_file.is_file() and s.edit_id in s.store.project_file.read_text(), timeout=15000
    )
    # reopening the clip finds its project again, with the work in it
    window.session.close_project()
    from guitools import wait_open

    wait_open(qtbot, window, clip)
    assert [e.task for e in window.session.project.edits] == ["delete"]


def test_train_workspace_hides_the_editing_docks(qtbot, opened):
    w = opened
    from PySide6.QtWidgets import QDockWidget

    docks = [d for d in w.findChildren(QDockWidget) if d.isVisible()]
    assert len(docks) == 4  # timeline, mask, edits, render
    w.actions_by_name["workspace_train"].trigger()
    assert w.workspaces.training and w.workspaces.trainer is not None
    assert not any(d.isVisible() for d in docks)
    w.actions_by_name["workspace_edit"].trigger()
    assert all(d.isVisible() for d in docks)
