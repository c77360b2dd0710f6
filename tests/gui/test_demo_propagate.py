"""The built-in demo: Propagate works on the first click (flow engine), streaming frames while the
editor scrubs, and (under the perf marker) the UI thread stays free throughout."""

from __future__ import annotations

import numpy as np
from guitools import GapRecorder

from vivid_desktop.core.files import read_png
from vivid_desktop.qt.demo import DEMO_FRAMES, DEMO_KEYFRAMES, _scene

MAX_STALL_MS = 50


def test_demo_propagates_on_first_click(qtbot, window, timed):
    w, s = window, window.session
    w.start_runtime()
    w.open_demo()
    qtbot.waitUntil(
        lambda: s.store is not None and w.viewer._source is not None and w.runtime.is_ready, timeout=60000
    )
    assert s.edit is not None and s.keyframe_frames() == list(DEMO_KEYFRAMES)
    assert w.propagate_panel.run_button.isEnabled()
    gaps = GapRecorder().start()
    with qtbot.waitSignal(w.propagate.finished, timeout=180000) as done:
        w.actions_by_name["propagate"].trigger()  # tracks the mask first, then renders
        for frame in range(0, DEMO_FRAMES, 2):  # the editor scrubs meanwhile
            w.timeline.seekRequested.emit(frame)
            qtbot.wait(25)
    gaps.stop()
    print(f"demo propagate: {gaps.summary()}")
    assert done.args == ["succeeded"], w.propagate_panel.status.text()
    if timed:
        gaps.assert_smooth("tracking and propagating the demo", MAX_STALL_MS)
    render = s.edit.renders[-1]
    assert s.store.rendered_frames(render.id) == list(range(DEMO_FRAMES))
    assert w.timeline.rendered_frames == list(range(DEMO_FRAMES))
    scene = _scene()
    for f in DEMO_KEYFRAMES:  # the ball is gone where its mask was painted
        out = read_png(s.store.render_frame_path(render.id, f), grey=False)
        inside = scene.masks[f] > 0
        left = (np.abs(out[inside].astype(int) - scene.frames[f][inside].astype(int)).sum(-1) < 30).mean()
        assert left < 0.1, f"{left:.0%} of the ball is still there at frame {f}"
