"""Undo and redo of every undoable kind of project event: the state comes back, and redo re-emits the
very event the change emitted (so views and the recorder see the same typed event both times)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vivid_desktop.core.events import Event
from vivid_desktop.core.project import Project
from vivid_desktop.core.project_events import (
    EditAdded,
    EditChanged,
    EditMoved,
    EditRemoved,
    KeyframeAdded,
    KeyframeChanged,
    KeyframePainted,
    KeyframeRemoved,
    NameChanged,
    ProjectEvent,
    RangeChanged,
    RenderAdded,
    RenderChanged,
    RenderRemoved,
    SettingsChanged,
    SourceChanged,
)
from vivid_desktop.core.store import ProjectStore
from vivid_desktop.core.undo import ProjectRecorder, UndoLog

PLAN = {"source": "/c.mp4", "start": 0, "stop": 5, "task": "add", "output_dir": "/o"}

# (the kind the change emits, the undo label, the change); edits "a" and "b" exist, "b" has keyframe 7.
UNDOABLE: list[tuple[type[Event], str, Callable[[Project, str, str], object]]] = [
    (EditAdded, "Add edit", lambda p, a, b: p.add_edit(name="c")),
    (EditRemoved, "Delete edit", lambda p, a, b: p.remove_edit(a)),
    (EditMoved, "Move edit", lambda p, a, b: p.move_edit(b, 0)),
    (EditChanged, "Change caption", lambda p, a, b: p.set_caption(a, "a red car")),
    (EditChanged, "Change settings", lambda p, a, b: p.set_edit_setting(a, "strength", 0.3)),
    (KeyframeAdded, "Add keyframe", lambda p, a, b: p.add_keyframe(a, 3)),
    (KeyframeRemoved, "Remove keyframe", lambda p, a, b: p.remove_keyframe(b, 7)),
    (KeyframeChanged, "Change keyframe mask", lambda p, a, b: p.set_keyframe_mask(b, 7, "masks/x.png")),
    (KeyframeChanged, "Change keyframe image", lambda p, a, b: p.set_keyframe_image(b, 7, "keyframes/y.png")),
    (NameChanged, "Rename project", lambda p, a, b: p.set_name("renamed")),
    (RangeChanged, "Set in/out", lambda p, a, b: p.set_range(2, 9)),
]

# Facts and view state, not history: they emit their event but record no step.
NOT_UNDONE: list[tuple[type[Event], Callable[[Project, str, str], object]]] = [
    (SourceChanged, lambda p, a, b: p.set_source_path("/elsewhere/clip.mp4")),
    (SettingsChanged, lambda p, a, b: p.set_setting("proxy", False)),
    (KeyframePainted, lambda p, a, b: p.mask_painted(b, 7)),
    (RenderAdded, lambda p, a, b: p.add_render(a, PLAN, render_id="r1")),
]


def _setup(store: ProjectStore) -> tuple[Project, UndoLog, list[ProjectEvent], str, str]:
    p = store.project
    a, b = p.add_edit(name="a"), p.add_edit(name="b")
    p.add_keyframe(b.id, 7)
    log = UndoLog(merge_timeout_s=None)
    ProjectRecorder(p, log)
    seen: list[ProjectEvent] = []
    p.events.connect(seen.append)
    return p, log, seen, a.id, b.id


@pytest.mark.parametrize(("kind", "label", "change"), UNDOABLE, ids=[u[1] for u in UNDOABLE])
def test_undo_and_redo_reproduce_each_event_kind(store: ProjectStore, kind, label, change):
    p, log, seen, a, b = _setup(store)
    before = p.model_dump()
    change(p, a, b)
    after = p.model_dump()
    assert [type(ev) for ev in seen] == [kind] and log.steps == [label]
    done = seen[0]

    seen.clear()
    assert log.undo() and p.model_dump() == before
    assert len(seen) == 1 and not log.can_undo  # one inverse event, no new history

    seen.clear()
    assert log.redo() and p.model_dump() == after
    assert seen == [done]  # the same typed event, field for field
    assert log.steps == [label] and not log.can_redo


@pytest.mark.parametrize(("kind", "change"), NOT_UNDONE, ids=[n[0].__name__ for n in NOT_UNDONE])
def test_facts_emit_their_event_but_are_not_history(store: ProjectStore, kind, change):
    p, log, seen, a, b = _setup(store)
    change(p, a, b)
    assert [type(ev) for ev in seen] == [kind] and not log.can_undo


def test_render_events_carry_their_render(store: ProjectStore):
    p, log, seen, a, _b = _setup(store)
    render = p.add_render(a, PLAN, render_id="r1")
    p.set_render_status("r1", "running", frames_done=2)
    p.remove_render("r1")
    assert seen == [
        RenderAdded(edit_id=a, render_id="r1", render=render),
        RenderChanged(edit_id=a, render_id="r1", old="queued", value="running"),
        RenderRemoved(edit_id=a, render_id="r1", render=render),
    ]
    assert not log.can_undo
