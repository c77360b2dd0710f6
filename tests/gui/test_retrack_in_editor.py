"""Paint → track → correct → track again, through the real editor and a real runtime subprocess: the
second track touches only the frames between the corrected keyframe's neighbours, shows each as it
arrives, and the correction makes no frame worse."""

from __future__ import annotations

import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0) & (b > 0)).sum() / max(1, ((a > 0) | (b > 0)).sum()))


def track(qtbot, w) -> list[int]:
    shown: list[int] = []
    said: list[str] = []
    w.tracker.frameTracked.connect(shown.append)
    w.tracker.stateChanged.connect(lambda _running, _f, text: said.append(text))
    with qtbot.waitSignal(w.tracker.finished, timeout=90000) as done:
        w.mask_panel.track_button.click()
    w.tracker.frameTracked.disconnect(shown.append)
    assert done.args == [True], said[-1:]
    return shown


def test_a_correction_is_retracked_between_its_neighbours_only(qtbot, live, scene):
    w, s = live, live.session
    edit_id = s.new_edit("delete")
    store = s.store
    sloppy = scene.masks[0].copy()
    ys, xs = np.nonzero(sloppy)
    sloppy[ys.min() : ys.max(), max(0, xs.min() - 14) : xs.min()] = 255  # took background left of it
    store.add_keyframe(edit_id, 0, sloppy)
    store.add_keyframe(edit_id, 30, scene.masks[30])
    assert sorted(track(qtbot, w)) == list(range(36))
    folder = store.track_dir(edit_id)
    before = {t: s.store.frame_mask(edit_id, t) for t in range(36)}
    stamps = {t: (folder / f"{t:06d}.png").stat().st_mtime_ns for t in range(36)}

    store.add_keyframe(edit_id, 12, scene.masks[12])  # the correction: the background erased on 12
    assert s.edit.mask_track.stale
    shown = track(qtbot, w)
    assert sorted(set(shown)) == list(range(0, 31))  # between anchors 0 and 30, each shown as it came
    for t in range(31, 36):
        assert (folder / f"{t:06d}.png").stat().st_mtime_ns == stamps[t]
    after = {t: s.store.frame_mask(edit_id, t) for t in range(36)}
    old = [iou(before[t], scene.masks[t]) for t in range(1, 30)]
    new = [iou(after[t], scene.masks[t]) for t in range(1, 30)]
    assert all(n >= o - 0.03 for n, o in zip(new, old, strict=True)), np.round([old, new], 2)
    assert min(new[5:17]) >= 0.9, np.round(new, 2)
    assert not s.edit.mask_track.stale and w.timeline.track == (0, 36, False)
