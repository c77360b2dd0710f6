"""The observer: typed events, group listeners, blocking, weak references to views."""

from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass
from typing import TypeAlias

import pytest

from vivid_desktop.core import painter, project_events, store_events, undo
from vivid_desktop.core.events import EmitterGroup, Event


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptionChanged(Event):
    edit_id: str
    old: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Added(Event):
    index: int


Change: TypeAlias = CaptionChanged | Added


class Events(EmitterGroup[Change]):
    def __init__(self) -> None:
        super().__init__()
        self.caption_changed = self.add(CaptionChanged)
        self.added = self.add(Added)


class View:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def on_event(self, ev: Event) -> None:
        self.seen.append(ev)


def test_emit_reaches_emitter_and_group_callbacks():
    events = Events()
    own: list[CaptionChanged] = []
    everything: list[Change] = []
    events.caption_changed.connect(own.append)
    events.connect(everything.append)
    first = CaptionChanged(edit_id="e1", old="a", value="b")
    assert events.emit(first) is first
    events.emit(Added(index=0))
    assert own == [first]
    assert everything == [first, Added(index=0)]
    events.caption_changed.disconnect(own.append)
    events.emit(CaptionChanged(edit_id="e1", old="b", value="c"))
    assert len(own) == 1 and len(everything) == 3


def test_events_are_frozen_and_carry_only_their_fields():
    ev = CaptionChanged(edit_id="e1", old="a", value="b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.value = "c"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ev.frame  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(TypeError):
        Added(index=1, frame=3)  # type: ignore[call-arg]


def test_blockers():
    events = Events()
    seen: list[str] = []
    events.connect(lambda ev: seen.append(type(ev).__name__))
    with events.caption_changed.blocker():
        assert events.emit(CaptionChanged(edit_id="e", old="", value="x")) is None
        events.emit(Added(index=0))
    with events.blocker():
        events.emit(CaptionChanged(edit_id="e", old="", value="x"))
        events.emit(Added(index=1))
    events.emit(CaptionChanged(edit_id="e", old="", value="x"))
    assert seen == ["Added", "CaptionChanged"]


def test_bound_methods_are_held_weakly():
    events = Events()
    view = View()
    events.added.connect(view.on_event)
    events.added.connect(view.on_event)  # connecting twice calls once
    events.emit(Added(index=1))
    assert view.seen == [Added(index=1)]
    del view
    gc.collect()
    events.emit(Added(index=2))  # a closed view is neither kept alive nor called
    assert events.added.callbacks == []


def test_a_failing_callback_does_not_silence_the_others():
    events = Events()
    seen: list[Added] = []

    def broken(ev: Added) -> None:
        raise RuntimeError("view bug")

    events.added.connect(broken)
    events.added.connect(seen.append)
    with pytest.raises(RuntimeError, match="view bug"):
        events.emit(Added(index=1))
    assert len(seen) == 1


def test_a_group_refuses_events_it_does_not_emit():
    with pytest.raises(TypeError, match="not an event of this group"):
        Events().emit(project_events.NameChanged(old="a", value="b"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already"):
        Events().add(Added)


@pytest.mark.parametrize(
    "group",
    [project_events.ProjectEvents, store_events.StoreEvents, painter.PainterEvents, undo.UndoEvents],
)
def test_every_group_keeps_one_emitter_attribute_per_event(group):
    """Each kind is reachable as ``events.<name>`` (listeners connect there), and each is frozen."""
    events = group()
    emitters = [v for name, v in vars(events).items() if not name.startswith("_")]
    assert [e.kind for e in emitters] == events.kinds and events.kinds
    for kind in events.kinds:
        assert dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
