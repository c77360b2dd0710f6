"""The observer: typed events, group listeners, blocking, weak references to views."""

from __future__ import annotations

import gc

import pytest

from vivid_desktop.core.events import EmitterGroup, Event


class View:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def on_event(self, ev: Event) -> None:
        self.seen.append(ev)


def test_emit_reaches_emitter_and_group_callbacks():
    model = object()
    events = EmitterGroup(source=model, names=("caption_changed", "edit_added"))
    own, everything = [], []
    events.caption_changed.connect(own.append)
    events.connect(everything.append)
    events.caption_changed(edit_id="e1", old="a", value="b")
    events.edit_added(edit_id="e2", index=0)
    assert [(e.type, e.edit_id, e.old, e.value) for e in own] == [("caption_changed", "e1", "a", "b")]
    assert [e.type for e in everything] == ["caption_changed", "edit_added"]
    assert own[0].source is model
    events.caption_changed.disconnect(own.append)
    events.caption_changed(value="c")
    assert len(own) == 1 and len(everything) == 3


def test_blockers():
    events = EmitterGroup(names=("a", "b"))
    seen: list[str] = []
    events.connect(lambda ev: seen.append(ev.type))
    with events.a.blocker():
        events.a()
        events.b()
    with events.blocker():
        events.a()
        events.b()
    events.a()
    assert seen == ["b", "a"]


def test_bound_methods_are_held_weakly():
    events = EmitterGroup(names=("a",))
    view = View()
    events.a.connect(view.on_event)
    events.a.connect(view.on_event)  # connecting twice calls once
    events.a(value=1)
    assert [e.value for e in view.seen] == [1]
    del view
    gc.collect()
    events.a(value=2)  # a closed view is neither kept alive nor called
    assert events.a.callbacks == []


def test_a_failing_callback_does_not_silence_the_others():
    events = EmitterGroup(names=("a",))
    seen = []

    def broken(ev):
        raise RuntimeError("view bug")

    events.a.connect(broken)
    events.a.connect(seen.append)
    with pytest.raises(RuntimeError, match="view bug"):
        events.a(value=1)
    assert len(seen) == 1


def test_unknown_event_name():
    with pytest.raises(AttributeError):
        EmitterGroup(names=("a",)).nope  # noqa: B018
