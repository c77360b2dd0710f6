"""Opening another project resets what the panels said about the previous one."""

from __future__ import annotations

import shutil

from guitools import settle

from vivid_desktop.protocol.jobs import TrackMasksRequest
from vivid_desktop.qt.runtime_bridge import QtJob


def test_status_texts_and_progress_reset_when_another_project_opens(qtbot, opened, clip, tmp_path):
    w = opened
    # what the panels say after a tracking run and a render of the first project
    w.tracker.stateChanged.emit(False, 1.0, "Tracked 36 frames. Correct any frame to add an anchor.")
    w.propagate.stateChanged.emit(False, 1.0, "Propagation finished.")
    w.edits_panel.show_preview_state(False, "Keyframe 3 previewed.")
    assert w.propagate_panel.progress.value() == 1000
    other = tmp_path / "other" / "second.mp4"
    other.parent.mkdir()
    shutil.copy(clip, other)
    w.open_path(other)
    qtbot.waitUntil(lambda: "second" in w.windowTitle() and w.viewer._source is not None, timeout=30000)
    settle(qtbot, 50)
    assert "Tracked" not in w.mask_panel.track_status.text()
    assert w.mask_panel.track_progress.value() == 0
    assert w.propagate_panel.status.text() == ""
    assert w.propagate_panel.progress.value() == 0
    assert w.edits_panel.preview_status.text() == ""


def test_late_events_of_the_closed_projects_job_are_dropped(qtbot, opened):
    w = opened
    store = w.session.store
    request = TrackMasksRequest.model_construct(source=store.project.source.path)
    job = QtJob("track_masks", request, parent=w.tracker)
    said: list[str] = []
    w.tracker.stateChanged.connect(lambda _r, _f, text: said.append(text))
    job.cancelled.connect(lambda _m: w.tracker._end(False, "Tracking cancelled."))
    w.tracker.job = job
    w.session.close_project()
    job.cancelled.emit("late")  # the runtime's answer to the cancel arrives after the close
    settle(qtbot, 20)
    assert said == [] and w.tracker.job is None
