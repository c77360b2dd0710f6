"""The viewer's result composes overlapping edits like the export does (layers over the exact source)."""

from __future__ import annotations

import numpy as np

from vivid_desktop.core.files import write_png
from vivid_desktop.qt.images import rgb_from_qimage


def test_result_shows_every_overlapping_edit(qtbot, opened):
    w, s = opened, opened.session
    source = np.array(s.frames.reader.read(10))
    regions = [(slice(2, 20), slice(3, 30)), (slice(40, 60), slice(50, 90))]
    for (rows, cols), colour in zip(regions, [(250, 10, 10), (10, 10, 250)], strict=True):
        edit = s.project.add_edit(task="delete")
        s.store.add_keyframe(edit.id, 10)
        render = s.store.prepare_render(edit.id, 10, 12)
        frame = source.copy()
        frame[rows, cols] = colour  # a render equals the source outside its mask
        write_png(s.store.render_frame_path(render.id, 10), frame)
    shown = []
    s.frames.frameLoaded.connect(lambda d: shown.append(d) if d.frame == 10 and d.exact else None)
    s.seek(10)
    s.frames.refresh()
    qtbot.waitUntil(lambda: bool(shown) and shown[-1].result is not None, timeout=10000)
    expected = source.copy()
    expected[regions[0]] = (250, 10, 10)
    expected[regions[1]] = (10, 10, 250)
    assert np.array_equal(rgb_from_qimage(shown[-1].result), expected)  # edit 1's change is still there
    assert shown[-1].result_path == s.store.final_frame_path(10)  # the top layer names the badge
    assert w.viewer.badge.startswith("RENDER")
