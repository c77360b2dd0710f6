"""The export dialog's worker writes a PNG sequence into a folder that does not exist yet, and a cancelled
export leaves no folder behind (the exporter creates it only by its final rename)."""

from __future__ import annotations

import pytest

from vivid_desktop.media.errors import MediaCancelled
from vivid_desktop.qt.export_dialog import PRESETS, run_export

PNG = next(p for p in PRESETS if p.key == "png")


def _run(store, out, cancel):
    return run_export(
        store, PNG, out, 0, 6, quality="draft", audio=False, edit_id=None,
        progress=lambda done, total: None, cancel=cancel,
    )  # fmt: skip


def test_png_export_makes_its_folder_and_cancel_leaves_none(opened, window, tmp_path):
    store = window.session.store
    out = tmp_path / "frames"
    assert _run(store, out, lambda: False) == out
    assert sorted(p.name for p in out.iterdir()) == [f"{n:06d}.png" for n in range(6)]

    cancelled = tmp_path / "cancelled"
    with pytest.raises(MediaCancelled):
        _run(store, cancelled, lambda: True)
    assert not cancelled.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("cancelled", "."))) == []
