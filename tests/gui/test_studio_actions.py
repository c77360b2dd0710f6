"""File → Export timeline… writes an NLE timeline; Render → Render on cluster… sends the plan to a cluster."""

from __future__ import annotations

import numpy as np
import opentimelineio as otio
from guitools import settle


def test_export_timeline_from_the_file_menu(qtbot, opened, tmp_path):
    w = opened
    w.actions_by_name["export_timeline"].trigger()
    dialog = w.findChild(object, "timelineDialog")
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(tmp_path / "for-premiere"))  # no suffix: the chosen filter's (.otio)
    dialog.accept()
    out = tmp_path / "for-premiere.otio"
    qtbot.waitUntil(lambda: "Timeline written" in w.statusBar().currentMessage(), timeout=60000)
    timeline = otio.adapters.read_from_file(str(out))
    clip = timeline.tracks[0][0]
    source = w.session.store.project.source
    assert clip.source_range.duration.value == source.stop - source.in_frame
    assert set(clip.media_references()) == {"edited", "original"}
    assert (tmp_path / "for-premiere.media").is_dir()
    assert w.settings.get("export/last_folder") == str(tmp_path)


def test_render_on_cluster_sends_the_address_with_the_plan(qtbot, opened, scene):
    w, s = opened, opened.session
    s.new_edit("delete")
    s.store.add_keyframe(s.edit_id, 0, (scene.masks[0] > 0).astype(np.uint8) * 255)
    w.propagate_panel.track_first.setChecked(False)
    sent = []

    class Job:  # what the runtime bridge would return; the plan is what matters here
        def __getattr__(self, name):
            return type("Signal", (), {"connect": lambda *_: None})()

    w.propagate.runtime.submit = lambda plan, parent=None: sent.append(plan) or Job()
    w.actions_by_name["cluster"].trigger()
    dialog = w.findChild(object, "clusterDialog")
    assert dialog.textValue() == "local"  # the default, then whatever was used last
    dialog.setTextValue("ray://gpu-head:10001")
    dialog.accept()
    qtbot.waitUntil(lambda: bool(sent), timeout=20000)
    assert sent[0].cluster == "ray://gpu-head:10001" and sent[0].task == "delete"
    assert w.settings.get("render/cluster") == "ray://gpu-head:10001"
    w.propagate.job = None
    settle(qtbot, 20)
