"""Export asks before replacing a file and says which frames are not rendered."""

from __future__ import annotations

import numpy as np
from guitools import settle

from vivid_desktop.media.probe import probe


def answer(box, text: str) -> None:
    next(b for b in box.buttons() if b.text().replace("&", "") == text).click()


def test_export_asks_before_replacing_a_file(qtbot, opened, tmp_path):
    w = opened
    w.show_export()
    d = w.export_dialog
    d.preset.setCurrentIndex(d.preset.findData("h264"))
    out = tmp_path / "existing.mp4"
    out.write_bytes(b"the user's earlier export")
    d.path.setText(str(out))
    d.start_export()
    assert d.question is not None and "existing.mp4" in d.question.text()
    answer(d.question, "Cancel")
    settle(qtbot, 20)
    assert not d.running and out.read_bytes() == b"the user's earlier export"
    assert "not started" in d.status.text()
    d.start_export()
    answer(d.question, "Replace")
    qtbot.waitUntil(lambda: not d.running, timeout=30000)
    assert d.error is None, d.status.text()
    assert probe(out).frame_count == 36
    d.close()


def test_export_names_the_frames_an_edit_has_not_rendered(qtbot, opened, scene, tmp_path):
    w, s = opened, opened.session
    s.new_edit("delete")
    s.store.add_keyframe(s.edit_id, 0, (scene.masks[0] > 0).astype(np.uint8) * 255)
    w.show_export()
    d = w.export_dialog
    d.range.setCurrentIndex(d.range.findData("all"))
    out = tmp_path / "edited.mp4"
    d.path.setText(str(out))
    d.start_export()
    qtbot.waitUntil(lambda: d.question is not None)
    assert "frames 0–35 are not rendered" in d.question.text()
    assert s.edit.name in d.question.text()
    d.cancel_export()  # cancelling while asked: nothing starts, nothing is written
    assert not d.running and d.error == "cancelled" and not out.exists()
    d.close()
