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
