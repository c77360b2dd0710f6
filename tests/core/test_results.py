"""How current the results are: the viewer's layers, the range a new render needs, export's gaps."""

from __future__ import annotations

import os

import numpy as np

from vivid_desktop.core.files import write_png
from vivid_desktop.core.results import frame_spans, range_status, viewer_layers
from vivid_desktop.core.store import ProjectStore

H, W = 48, 64


def _mask(y0: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, 10:20] = 255
    return m


def _rendered(store: ProjectStore, edit_id: str, frames: range) -> str:
    """A finished render with files for ``frames`` (as the runtime leaves it)."""
    render = store.prepare_render(edit_id, 0, store.project.source.frame_count)
    for n in frames:
        write_png(store.render_frame_path(render.id, n), np.full((H, W, 3), n, np.uint8), durable=False)
    store.project.set_render_status(render.id, "done", frames_done=len(frames))
    return render.id


def test_range_status_lists_frames_not_rendered_and_stale(store: ProjectStore):
    edit = store.project.add_edit(task="delete", name="Remove the bike")
    store.add_keyframe(edit.id, 10, _mask(0, 5))
    store.add_keyframe(edit.id, 50, _mask(5, 10))
    store.add_keyframe(edit.id, 90, _mask(5, 10))
    _rendered(store, edit.id, range(0, 100))
    assert range_status(store, 0, 100) == []  # all rendered, nothing changed
    [status] = range_status(store, 0, 120)
    assert status.name == "Remove the bike" and status.missing == list(range(100, 120))
    assert status.stale == []
    store.set_mask(edit.id, 50, _mask(20, 30))  # a keyframe changed after the render
    store.save()
    [status] = range_status(store, 0, 100)
    assert status.missing == [] and status.stale == list(range(10, 91))
    off = store.project.add_edit(task="delete")
    store.project.set_edit_field(off.id, "enabled", False)  # disabled edits do not export
    assert [s.edit_id for s in range_status(store, 0, 100)] == [edit.id]


def test_viewer_layers_prefer_a_newer_edited_keyframe(store: ProjectStore):
    edit = store.project.add_edit(task="modify")
    store.add_keyframe(edit.id, 5, _mask(0, 5))
    render_id = _rendered(store, edit.id, range(0, 10))
    rendered = store.render_frame_path(render_id, 5)
    assert viewer_layers(store, 5, edit.id) == [rendered]
    store.write_keyframe_image(edit.id, 5, np.full((H, W, 3), 9, np.uint8))
    edited = store.path(store.project.edit(edit.id).keyframe(5).image)
    os.utime(rendered, ns=(1, 1))  # the render is older than the edited keyframe
    assert viewer_layers(store, 5, edit.id) == [edited]
    assert viewer_layers(store, 5, None) == [rendered]  # no edit selected: the renders only
    os.utime(edited, ns=(0, 0))
    assert viewer_layers(store, 5, edit.id) == [rendered]


def test_frame_spans():
    assert frame_spans([9, 1, 2, 3, 7, 10]) == "1–3, 7, 9–10"
    assert frame_spans([]) == ""
