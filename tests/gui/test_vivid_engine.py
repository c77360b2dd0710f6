"""The vivid engine from the editor, on a tiny seeded model (CPU): keyframe preview, then propagation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vivid_desktop.core.files import read_png
from vivid_desktop.core.masks import expand


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """``vivid model tiny DIR`` in a subprocess: the test process, like the GUI, never imports torch."""
    folder = tmp_path_factory.mktemp("models") / "tiny"
    proc = subprocess.run(
        [sys.executable, "-m", "vivid_desktop.cli.main", "model", "tiny", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return folder


def test_vivid_preview_and_propagate(qtbot, live, scene, settings, tiny_model):
    w, s = live, live.session
    settings.set("models/folders", [str(tiny_model)])
    settings.qsettings.setValue("models/current", str(tiny_model))
    s.default_engine = "vivid"
    s.new_edit("modify")
    assert s.edit.engine == "vivid"  # new edits take the default engine of the settings
    s.project.set_caption(s.edit_id, "a blue ball")
    s.project.set_edit_setting(s.edit_id, "steps", 2)
    mask = (scene.masks[0] > 0).astype(np.uint8) * 255
    s.store.add_keyframe(s.edit_id, 0, mask)
    messages: list[str] = []
    w.keyframes.previewState.connect(lambda _r, text: messages.append(text))
    with qtbot.waitSignal(w.keyframes.imported, timeout=180000):
        w.edits_panel.preview_button.click()
    assert any("step 2/2" in m for m in messages)  # per-step progress from image mode
    assert s.edit.keyframe(0).image is not None
    assert "windows" in w.propagate_panel.plan_label.text()
    w.propagate_panel.track_first.setChecked(False)
    with qtbot.waitSignal(w.propagate.finished, timeout=300000) as done:
        w.propagate_panel.run_button.click()
    assert done.args == ["succeeded"], w.propagate_panel.status.text()
    assert w.timeline.windows == [(0, 36, "forward")]  # the KIVE plan drawn on the timeline
    assert w.timeline.rendered_frames == list(range(36))
    render = s.edit.renders[-1]
    assert render.plan["settings"]["steps"] == 2 and render.plan["engine"] == "vivid"
    out = read_png(s.store.render_frame_path(render.id, 5), grey=False)
    source = np.asarray(s.frames.reader.read(5))
    outside = expand(mask, 8) == 0  # frames without a mask of their own use the keyframe's
    assert np.array_equal(out[outside], source[outside])
