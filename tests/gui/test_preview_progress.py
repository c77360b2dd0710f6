"""Keyframe Preview in the editor (tiny seeded vivid model, real runtime, real widgets): the bar counts the
denoising steps on the keyframe being previewed; Cancel and Esc stop the job between steps, keep the
keyframe's previous preview and bring the panel back to idle."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from trainer_helpers import tiny_model as write_tiny_model

from vivid_desktop.core.files import read_png

STEPS = 4


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    return write_tiny_model(tmp_path_factory)


def _vivid_keyframe(w, settings, scene, tiny_model) -> None:
    s = w.session
    settings.set("models/folders", [str(tiny_model)])
    settings.qsettings.setValue("models/current", str(tiny_model))
    s.default_engine = "vivid"
    s.new_edit("modify")
    s.project.set_caption(s.edit_id, "a blue ball")
    s.project.set_edit_setting(s.edit_id, "steps", STEPS)
    s.store.add_keyframe(s.edit_id, 0, (scene.masks[0] > 0).astype(np.uint8) * 255)


def _snapshot(panel) -> tuple:
    bar = panel.preview_progress.bar
    item = panel.key_list.item(0).text()
    return bar.value(), bar.maximum(), bar.format(), panel.preview_progress.cancel_button.isEnabled(), item


def _idle(panel) -> bool:
    return (
        not panel.preview_progress.isVisibleTo(panel)
        and panel.preview_button.isEnabled()
        and not panel.preview_progress.cancel_button.isEnabled()
    )


def test_the_bar_counts_steps_and_cancel_or_esc_keeps_the_previous_preview(
    qtbot, live, scene, settings, tiny_model
):
    w, s, panel = live, live.session, live.edits_panel
    _vivid_keyframe(w, settings, scene, tiny_model)
    seen: list[tuple] = []
    w.keyframes.previewProgress.connect(lambda *_a: seen.append(_snapshot(panel)))
    latents: list[bool] = []  # connected after the window's own slot: the viewer shows it by now
    w.keyframes.latentPreview.connect(lambda *_a: latents.append(w.viewer.latent is not None))
    assert _idle(panel) and not w.actions_by_name["cancel_preview"].isEnabled()

    # A preview that runs to the end: the bar goes 1/4 … 4/4 on keyframe 0, then the panel is idle.
    with qtbot.waitSignal(w.keyframes.imported, timeout=60000):
        panel.preview_button.click()
    steps = [snap for snap in seen if snap[1] == STEPS]
    assert [snap[0] for snap in steps] == list(range(1, STEPS + 1))
    assert steps[-1][2] == f"Keyframe 0 · step {STEPS}/{STEPS}" and all(snap[3] for snap in steps)
    assert steps[0][4] == f"Frame 0 · step 1/{STEPS}"  # the keyframe itself shows the step
    qtbot.waitUntil(lambda: _idle(panel), timeout=5000)
    assert panel.key_list.item(0).text() == "Frame 0 · edited"
    assert latents and all(latents) and w.viewer.latent is None  # the latents while denoising, then gone
    first = read_png(s.store.path(s.edit.keyframe(0).image), grey=False)
    output = s.store.cache_dir("previews", s.edit.id) / "000000.png"
    before = output.read_bytes()

    # Many steps on a larger frame: the preview cannot end by itself before the cancel lands.
    s.project.set_edit_setting(s.edit_id, "steps", 400)
    s.project.set_edit_setting(s.edit_id, "resolution", [96, 96])
    for cancel in (
        lambda: panel.preview_progress.cancel_button.click(),
        lambda: QTest.keyClick(w.viewer, Qt.Key.Key_Escape),
    ):
        seen.clear()
        states: list[tuple[bool, str]] = []
        w.keyframes.previewState.connect(lambda running, text, st=states: st.append((running, text)))
        w.keyframes.preview(0)
        qtbot.waitUntil(lambda: any(snap[1] == 400 and snap[0] >= 2 for snap in seen), timeout=60000)
        assert panel.preview_progress.isVisibleTo(panel) and not panel.preview_button.isEnabled()
        assert w.actions_by_name["cancel_preview"].isEnabled()
        assert not w.actions_by_name["cancel_tool"].isEnabled()  # Esc means "cancel the preview" now
        with qtbot.waitSignal(w.keyframes.previewState, timeout=30000, check_params_cb=lambda r, _t: not r):
            cancel()
        assert w.keyframes.job.terminal == "cancelled"
        assert states[-1] == (False, "Preview of keyframe 0 cancelled; the keyframe keeps its image.")
        assert max(snap[0] for snap in seen if snap[1] == 400) < 400  # stopped between steps
        qtbot.waitUntil(lambda: _idle(panel), timeout=5000)
        assert panel.key_list.item(0).text() == "Frame 0 · edited"
        assert w.actions_by_name["cancel_tool"].isEnabled() and w.viewer.latent is None
        assert not w.actions_by_name["cancel_preview"].isEnabled()
        # the previous preview stays: the keyframe's image and the preview file, byte for byte
        assert np.array_equal(read_png(s.store.path(s.edit.keyframe(0).image), grey=False), first)
        assert output.read_bytes() == before
        assert not [p for p in output.parent.iterdir() if p.name.startswith(".")]  # no temp file
