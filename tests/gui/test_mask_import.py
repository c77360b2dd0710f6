"""Mask → Import: a grey mask video (dropped on the window) or a PNG folder becomes the edit's tracked
masks; the viewer shows them and the first becomes a keyframe to correct and track again."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from vivid_desktop.media.synth import write_clip


def test_a_dropped_mask_video_and_a_png_folder_become_tracked_masks(qtbot, opened, scene, tmp_path):
    w, s = opened, opened.session
    n = len(scene.masks)
    grey = [np.repeat(m[..., None], 3, axis=2) for m in scene.masks]
    video = write_clip(tmp_path / "masks.mkv", grey, codec="libx264rgb", pix_fmt="rgb24", options={"qp": "0"})
    assert w.mask_import.accepts_drop(video) and not w.mask_import.accepts_drop(s.store.project.source.path)

    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(video))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    w.dropEvent(drop)
    qtbot.waitUntil(lambda: s.edit is not None and s.edit.mask_track is not None, timeout=20000)
    edit = s.edit
    assert (edit.mask_track.start, edit.mask_track.stop, edit.mask_track.stale) == (0, n, False)
    assert s.keyframe_frames() == [0]
    for t in (0, 11, n - 1):
        np.testing.assert_array_equal(s.store.frame_mask(edit.id, t), scene.masks[t])
    assert s.store.project.source.path != str(video)  # the clip stays open

    folder = tmp_path / "pngs"
    folder.mkdir()
    for t in range(5, 9):  # half size: scaled to the clip
        small = cv2.resize(scene.masks[t], None, fx=0.5, fy=0.5, interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(folder / f"{t:06d}.png"), small)
    with qtbot.waitSignal(w.mask_import.imported, timeout=20000) as got:
        w.mask_import.import_path(folder)
    assert got.args == [edit.id, 5, 9]
    assert s.keyframe_frames() == [0]  # the edit had a keyframe already
    assert (s.store.frame_mask(edit.id, 6) > 0).sum() > 0.8 * (scene.masks[6] > 0).sum()


def test_a_folder_dropped_onto_an_edit_in_the_edits_panel_goes_to_that_edit(qtbot, opened, scene, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    from vivid_desktop.core.files import write_png

    w, s = opened, opened.session
    s.new_edit("delete")
    lower = s.edit_id
    s.new_edit("modify")  # selected now, and shown on top of the list
    folder = tmp_path / "masks"
    for n in range(2, 6):
        write_png(folder / f"{n:06d}.png", (scene.masks[n] > 0).astype(np.uint8) * 255)
    panel = w.edits_panel
    row = next(
        i
        for i in range(panel.edit_list.count())
        if panel.edit_list.item(i).data(Qt.ItemDataRole.UserRole) == lower
    )
    at = panel.edit_list.viewport().mapTo(
        panel, panel.edit_list.visualItemRect(panel.edit_list.item(row)).center()
    )
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    panel.dropEvent(event)  # the handler: Qt delivers drop events only while a real drag runs
    assert event.isAccepted() and s.edit_id == lower
    qtbot.waitUntil(lambda: s.project.edit(lower).mask_track is not None, timeout=20000)
    assert (s.project.edit(lower).mask_track.start, s.project.edit(lower).mask_track.stop) == (2, 6)
