"""Re-tracking plans: only the frames between a changed keyframe's neighbouring anchors."""

from __future__ import annotations

import cv2
import numpy as np

from vivid_desktop.core import retrack


def masks(folder, frames: dict[int, int]) -> dict[int, str]:
    """Mask files whose content is given by a number (so a 'repaint' changes the digest)."""
    folder.mkdir(exist_ok=True)
    out = {}
    for n, v in frames.items():
        path = folder / f"key{n}.png"
        cv2.imwrite(str(path), np.full((4, 4), v, np.uint8))
        out[n] = str(path)
    return out


def test_without_a_record_everything_is_tracked_and_with_one_only_what_changed(tmp_path):
    track = tmp_path / "track"
    first = masks(tmp_path / "a", {0: 1, 20: 2, 40: 3})
    assert retrack.plan_retrack(track, first, 0, 60) == (0, 60)
    retrack.record_anchors(track, first, 0, 60)
    assert retrack.plan_retrack(track, first, 0, 60) is None  # nothing changed
    assert retrack.plan_retrack(track, first, 0, 50) == (0, 50)  # another range: all of it

    corrected = {**first, **masks(tmp_path / "b", {30: 9})}  # a correction on frame 30
    assert retrack.plan_retrack(track, corrected, 0, 60) == (20, 41)
    repainted = {**first, **masks(tmp_path / "c", {20: 7})}  # anchor 20 repainted
    assert retrack.plan_retrack(track, repainted, 0, 60) == (0, 41)
    last = {**first, **masks(tmp_path / "d", {40: 8})}  # the last anchor: to the end of the range
    assert retrack.plan_retrack(track, last, 0, 60) == (20, 60)
    removed = {n: p for n, p in first.items() if n != 20}
    assert retrack.plan_retrack(track, removed, 0, 60) == (0, 41)


def test_clear_range_deletes_only_that_range(tmp_path):
    for n in range(10):
        (tmp_path / f"{n:06d}.png").write_bytes(b"x")
    (tmp_path / retrack.RECORD).write_text("{}")
    assert retrack.clear_range(tmp_path, 3, 7) == 4
    assert sorted(p.name for p in tmp_path.glob("0*.png")) == [f"{n:06d}.png" for n in (0, 1, 2, 7, 8, 9)]
    assert retrack.plan_retrack(tmp_path, {}, 0, 10) == (0, 10)  # an unusable record: a full track
