"""The whole workflow through the real widgets and a real runtime subprocess: paint, track, propagate
(frames stream onto the timeline), export; under the perf marker, the UI thread never stalls for more than
50 ms meanwhile."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
from guitools import GapRecorder, settle
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from vivid_desktop.core.files import read_png
from vivid_desktop.core.masks import expand
from vivid_desktop.media.probe import probe

MAX_STALL_MS = 50


def _at(w, x: float, y: float) -> QPoint:
    p = w.viewer.image_to_view(QPointF(x, y))
    return QPoint(round(p.x()), round(p.y()))


def paint_object_outline(qtbot, w, mask: np.ndarray) -> None:
    """Click a polygon around the object (its outline with a small margin), as an editor would."""
    contours, _ = cv2.findContours(expand(mask, 2), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = cv2.approxPolyDP(max(contours, key=cv2.contourArea), 1.5, True).reshape(-1, 2)
    w.set_tool("polygon")
    for x, y in outline:
        QTest.mouseClick(w.viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(w, x, y))
    QTest.mouseClick(  # a click on the first vertex closes the polygon
        w.viewer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(w, *outline[0])
    )
    settle(qtbot)


def _decoded_frame(session, n: int) -> np.ndarray:
    return np.asarray(session.frames.reader.read(n))


def test_paint_track_propagate_export(qtbot, live, scene, tmp_path, timed):
    w, s = live, live.session
    paint_object_outline(qtbot, w, scene.masks[0])
    assert s.keyframe_frames() == [0]
    painted = s.store.read_mask(s.edit_id, 0)
    assert (painted[scene.masks[0] > 0] == 255).mean() > 0.98
    assert (painted > 0).sum() < 1.5 * (scene.masks[0] > 0).sum()

    # --- track the mask through the clip --------------------------------------------------------
    gaps = GapRecorder().start()
    tracked: list[int] = []
    w.tracker.frameTracked.connect(tracked.append)
    with qtbot.waitSignal(w.tracker.finished, timeout=60000) as done:
        w.mask_panel.track_button.click()
    gaps.stop()
    assert done.args == [True], w.mask_panel.track_status.text()
    print(f"tracking: {gaps.summary()}")
    if timed:
        gaps.assert_smooth("tracking", MAX_STALL_MS)
    edit = s.edit
    assert edit.mask_track is not None and (edit.mask_track.start, edit.mask_track.stop) == (0, 36)
    assert w.timeline.track == (0, 36, False)
    assert len(set(tracked)) >= 35
    # every frame got a tracked mask (how well it follows is the flow engine's business and tested there)
    assert all((s.store.track_dir(edit.id) / f"{f:06d}.png").is_file() for f in range(36))
    # the viewer shows the tracked mask where the playhead is
    s.seek(20)
    qtbot.waitUntil(lambda: s.painter.frame == 20)
    assert np.array_equal(w.viewer._mask, s.painter.mask) and (s.painter.mask > 127).sum() > 100

    # --- propagate: frames stream onto the timeline and into the viewer -------------------------
    w.propagate_panel.track_first.setChecked(True)  # already tracked: it goes straight to rendering
    arrivals: list[int] = []
    w.propagate.frameRendered.connect(lambda f, _p: arrivals.append(len(w.timeline.rendered_frames)))
    gaps = GapRecorder().start()
    with qtbot.waitSignal(w.propagate.finished, timeout=120000) as done:
        w.propagate_panel.run_button.click()
    gaps.stop()
    assert done.args == ["succeeded"], w.propagate_panel.status.text()
    print(f"propagating: {gaps.summary()}")
    if timed:
        gaps.assert_smooth("propagating", MAX_STALL_MS)
    assert w.timeline.rendered_frames == list(range(36))
    assert arrivals[:3] == [1, 2, 3]  # frames appeared on the timeline one by one as they came
    render = s.edit.renders[-1]
    assert render.status == "done" and render.frames_done == 36
    # the viewer follows the render and shows the rendered frame
    qtbot.waitUntil(lambda: "RENDER" in w.viewer.badge, timeout=5000)
    # the render changed the painted region and kept every pixel outside the (feathered) mask
    out0 = read_png(s.store.render_frame_path(render.id, 0), grey=False)
    source0 = _decoded_frame(s, 0)
    inside = scene.masks[0] > 0
    assert np.abs(out0[inside].astype(int) - source0[inside].astype(int)).mean() > 20
    outside = expand(painted, 8) == 0  # outside the (feathered) mask the source is kept
    assert np.abs(out0[outside].astype(int) - source0[outside].astype(int)).max() == 0

    # --- export with the audio ----------------------------------------------------------------
    w.show_export()
    dialog = w.export_dialog
    out = tmp_path / "edited.mp4"
    dialog.path.setText(str(out))
    dialog.range.setCurrentIndex(dialog.range.findData("all"))
    gaps = GapRecorder().start()
    dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60000)
    gaps.stop()
    assert dialog.result_path == out and dialog.error is None, dialog.status.text()
    print(f"exporting: {gaps.summary()}")
    if timed:
        gaps.assert_smooth("exporting", MAX_STALL_MS)
    assert dialog.open_button.isVisible()
    opened_folders: list[Path] = []
    dialog.open_folder = opened_folders.append
    dialog.open_button.click()
    assert opened_folders == [tmp_path]
    info = probe(out)
    assert info.frame_count == 36 and info.rate == 24
    assert info.has_audio and abs(float(info.audio[0].duration) - 1.5) < 0.05
    with av.open(str(out)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert (
        np.abs(first.astype(int) - read_png(s.store.render_frame_path(render.id, 0), grey=False)).mean() < 6
    )
    dialog.close()
