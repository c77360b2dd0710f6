"""The project model: validation, and the events each mutation emits."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import ValidationError

from vivid_desktop.core.project import Project, ProjectError, SourceClip
from vivid_desktop.core.project_events import (
    EditAdded,
    EditChanged,
    EditMoved,
    EditRemoved,
    KeyframeAdded,
    KeyframeChanged,
    KeyframePainted,
    KeyframeRemoved,
    ProjectEvent,
    SettingsChanged,
)
from vivid_desktop.protocol.jobs import DELETE_CAPTION


def _project() -> Project:
    clip = SourceClip(
        path="/c.mp4", fingerprint="v1:1:x", width=8, height=6, rate="24000/1001", frame_count=50
    )
    return Project(name="p", source=clip)


def test_rates_are_fractions_stored_as_text():
    p = _project()
    assert p.source.rate == Fraction(24000, 1001)
    assert p.model_dump(mode="json")["source"]["rate"] == "24000/1001"
    for bad in ("0", "abc", True, "-1/2"):
        with pytest.raises(ValidationError):
            SourceClip(path="/c", fingerprint="f", width=8, height=6, rate=bad, frame_count=5)
    with pytest.raises(ValidationError):
        SourceClip(path="/c", fingerprint="f", width=0, height=6, rate=25, frame_count=5)


def test_each_mutation_emits_one_event_with_old_and_new_values():
    p = _project()
    seen: list[ProjectEvent] = []
    p.events.connect(seen.append)
    a = p.add_edit(task="delete")
    b = p.add_edit(caption="a cat", engine="vivid")
    p.set_caption(b.id, "a dog")
    p.set_caption(b.id, "a dog")  # unchanged: no event
    p.move_edit(b.id, 0)
    k9 = p.add_keyframe(a.id, 9)
    k2 = p.add_keyframe(a.id, 2)
    p.set_keyframe_image(a.id, 9, "keyframes/x.png")
    p.mask_painted(a.id, 9)
    p.remove_keyframe(a.id, 2)
    p.set_setting("proxy", False)
    p.remove_edit(a.id)
    assert seen == [
        EditAdded(edit_id=a.id, index=0, edit=a),
        EditAdded(edit_id=b.id, index=1, edit=b),
        EditChanged(edit_id=b.id, field="caption", old="a cat", value="a dog"),
        EditMoved(edit_id=b.id, old=1, index=0),
        KeyframeAdded(edit_id=a.id, frame=9, keyframe=k9),
        KeyframeAdded(edit_id=a.id, frame=2, keyframe=k2),
        KeyframeChanged(edit_id=a.id, frame=9, field="image", old=None, value="keyframes/x.png"),
        KeyframePainted(edit_id=a.id, frame=9),
        KeyframeRemoved(edit_id=a.id, frame=2, keyframe=k2),
        SettingsChanged(field="proxy", old=True, value=False),
        EditRemoved(edit_id=a.id, index=1, edit=a),
    ]
    removed_kf, removed_edit = seen[8], seen[10]
    assert isinstance(removed_kf, KeyframeRemoved) and removed_kf.keyframe is k2  # the object itself
    assert isinstance(removed_edit, EditRemoved) and removed_edit.edit is a
    assert [e.id for e in p.edits] == [b.id]
    assert b.engine == "vivid" and a.effective_caption == DELETE_CAPTION and b.effective_caption == "a dog"


def test_keyframes_stay_sorted_and_mark_the_track_stale():
    p = _project()
    e = p.add_edit()
    for f in (30, 4, 17):
        p.add_keyframe(e.id, f)
    assert [k.frame for k in e.keyframes] == [4, 17, 30] and e.keyframes[0].mask == f"masks/{e.id}/000004.png"
    p.set_edit_field(e.id, "mask_track", {"folder": "t", "start": 0, "stop": 50})
    assert e.mask_track is not None and not e.mask_track.stale
    p.mask_painted(e.id, 17)
    assert e.mask_track.stale


def test_mistakes_are_project_errors():
    p = _project()
    e = p.add_edit()
    p.add_keyframe(e.id, 3)
    with pytest.raises(ProjectError, match="already has a keyframe at frame 3"):
        p.add_keyframe(e.id, 3)
    with pytest.raises(ProjectError, match="no keyframe at frame 4"):
        p.remove_keyframe(e.id, 4)
    with pytest.raises(ProjectError, match="no edit 'zzz'"):
        p.set_caption("zzz", "x")
    with pytest.raises(ProjectError, match="not a valid engine"):
        p.set_engine(e.id, "magic")  # type: ignore[arg-type]
    with pytest.raises(ProjectError, match="cannot be set"):
        p.set_edit_field(e.id, "renders", [])
    with pytest.raises(ProjectError, match="empty"):
        p.set_range(10, 10)
    with pytest.raises(ProjectError, match="unknown project setting"):
        p.set_setting("colour", "red")
    with pytest.raises(ProjectError, match="no render"):
        p.set_render_status("nope", "done")
    p.set_range(5, None)
    assert p.source.stop == 50 and p.source.in_frame == 5


def test_render_records_validate_their_plan():
    p = _project()
    e = p.add_edit()
    with pytest.raises(ValidationError):
        p.add_render(e.id, {"source": "/c.mp4", "start": 0})
    r = p.add_render(e.id, {"source": "/c.mp4", "start": 2, "stop": 9, "task": "add", "output_dir": "/o"})
    p.set_render_status(r.id, "failed", frames_done=3, message="out of memory")
    assert (r.status, r.frames_done, r.message, r.start, r.stop) == ("failed", 3, "out of memory", 2, 9)
    assert r.render_plan().engine == "flow"
    assert p.find_render(r.id) == (e, r)
