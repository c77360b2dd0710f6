"""The vivid engine in the editor (tiny seeded model, real runtime): keyframe Preview in image mode, then
Propagate with the latent preview in the viewer while the window denoises, and decoded frames after it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from trainer_helpers import tiny_model as write_tiny_model

from vivid_desktop.core.files import read_png
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan
from vivid_desktop.qt.images import rgb_from_qimage
from vivid_desktop.qt.viewer import Compare

STEPS = 3


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    return write_tiny_model(tmp_path_factory)


def _vivid_edit(w, settings, scene, tiny_model) -> np.ndarray:
    s = w.session
    settings.set("models/folders", [str(tiny_model)])
    settings.qsettings.setValue("models/current", str(tiny_model))
    s.default_engine = "vivid"
    s.new_edit("modify")
    s.project.set_caption(s.edit_id, "a blue ball")
    s.project.set_edit_setting(s.edit_id, "steps", STEPS)
    mask = (scene.masks[0] > 0).astype(np.uint8) * 255
    s.store.add_keyframe(s.edit_id, 0, mask)
    return mask


def _record_requests(w) -> list:
    """Spy on what the editor submits (the real runtime still runs every job)."""
    sent: list = []
    submit = w.runtime.submit
    w.runtime.submit = lambda request, parent=None: (sent.append(request), submit(request, parent))[1]
    return sent


def test_vivid_keyframe_preview_then_propagate_shows_latents_then_frames(
    qtbot, live, scene, settings, tiny_model
):
    w, s = live, live.session
    _vivid_edit(w, settings, scene, tiny_model)
    sent = _record_requests(w)

    # Keyframe Preview: one edit_keyframe job on the vivid engine (image mode: per-step "keyframe" progress).
    states: list[str] = []
    w.keyframes.previewState.connect(lambda _r, text: states.append(text))
    with qtbot.waitSignal(w.keyframes.imported, timeout=60000):
        w.edits_panel.preview_button.click()
    assert [type(r) for r in sent] == [EditKeyframeRequest] and sent[0].engine == "vivid"
    assert any(f"keyframe 0: step {STEPS}/{STEPS}" in t for t in states), states
    edited = read_png(s.store.path(s.edit.keyframe(0).image), grey=False)
    qtbot.waitUntil(lambda: w.viewer.compare is Compare.SIDE and w.viewer._result is not None, timeout=10000)
    assert np.array_equal(rgb_from_qimage(w.viewer._result), edited)  # the result, side by side

    # Propagate: latent previews in the viewer while the window denoises, then decoded frames.
    events: list[tuple] = []

    def on_latent(image) -> None:  # connected after the window's own slot: the viewer has it now
        assert w.viewer.latent is not None and w.viewer.latent == image
        shot, box = w.viewer.grab().toImage(), w.viewer.latent_rect()
        # The middle of the preview's bottom-right 8×8 block (the tiny model's latent cells are 8×8).
        u, v = image.width() - 4, image.height() - 4
        at = QPoint(
            int(box.left() + box.width() * u / image.width()),
            int(box.top() + box.height() * v / image.height()),
        )
        events.append(("latent", image.width(), image.height(), shot.pixelColor(at), image.pixelColor(u, v)))

    w.propagate.latentPreview.connect(on_latent)
    w.propagate.frameRendered.connect(lambda f, _p: events.append(("frame", f, w.viewer.latent is None)))
    w.set_compare("off")
    w.propagate_panel.track_first.setChecked(False)
    with qtbot.waitSignal(w.propagate.finished, timeout=60000) as done:
        w.propagate_panel.run_button.click()
    assert done.args == ["succeeded"], w.propagate_panel.status.text()
    assert isinstance(sent[-1], RenderPlan) and sent[-1].engine == "vivid"

    latents = [e for e in events if e[0] == "latent"]
    frames = [e for e in events if e[0] == "frame"]
    assert latents, "no latent preview reached the viewer"
    assert events.index(latents[0]) < events.index(frames[0])  # shown while denoising, before any frame
    _, lw, lh, painted, sent_colour = latents[0]
    assert min(lw, lh) >= 64  # a visible image, not a latent-grid sized speck
    diff = [abs(a - b) for a, b in zip(painted.getRgb()[:3], sent_colour.getRgb()[:3], strict=True)]
    assert max(diff) <= 16, (painted.getRgb(), sent_colour.getRgb())  # the inset shows that image
    assert sorted(e[1] for e in frames) == list(range(s.frame_count))
    assert all(cleared for _, _, cleared in frames)  # decoded frames replace the latent preview
    assert w.viewer.latent is None and w.timeline.rendered_frames == list(range(s.frame_count))
    render = s.edit.renders[-1]
    last = s.frame_count - 1
    qtbot.waitUntil(lambda: s.frame == last, timeout=10000)  # "follow" went to the newest rendered frame
    on_disk = read_png(s.store.render_frame_path(render.id, last), grey=False)

    def viewer_shows_it() -> None:
        assert w.viewer._result is not None and np.array_equal(rgb_from_qimage(w.viewer._result), on_disk)

    qtbot.waitUntil(viewer_shows_it, timeout=10000)


def test_status_bar_shows_gpu_memory_from_cuda_facts_and_cpu_otherwise(window):
    from vivid_desktop.protocol.messages import RuntimeFacts

    label = window.device_label
    assert label.text() == ""  # no facts yet: nothing claimed
    gpus = [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_bytes": 85_045_870_592},
        {"index": 1, "name": "NVIDIA H100 80GB HBM3", "memory_bytes": 85_045_870_592},
    ]
    window.runtime._on_facts(RuntimeFacts(torch="2.13.0", cuda="12.8", gpus=gpus))
    assert label.text() == "NVIDIA H100 80GB HBM3 · 79 GB (+1)"  # 85 045 870 592 bytes = 79.2 GiB
    window.runtime._on_facts(RuntimeFacts(torch="2.13.0+cpu", cuda=None, gpus=[]))
    assert label.text() == "CPU · torch 2.13.0+cpu"
    window.runtime._on_facts(RuntimeFacts(error="torch is not installed"))
    assert label.text() == "CPU · no torch"
