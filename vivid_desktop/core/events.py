"""A tiny, Qt-free observer: models emit typed change events, views subscribe with callbacks.

Modelled on napari's ``EmitterGroup``: the model owns ``self.events``; a view connects a callback and the
model never learns who listens. The Qt layer turns callbacks into queued signals where it needs threads.

Usage::

    events = EmitterGroup(source=model, names=("caption_changed", "edit_added"))
    events.caption_changed.connect(lambda ev: print(ev.edit_id, ev.old, ev.value))
    events.connect(on_any_change)            # every event of the group (autosave, undo recorder)
    events.caption_changed(edit_id="e1", old="a", value="b")   # emit
    with events.blocker():                   # nothing is emitted inside
        ...

Bound methods are held weakly (a closed view does not keep the model alive, nor gets called); plain
functions and lambdas are held strongly. A callback that raises does not stop the others; the first error
is re-raised after all callbacks ran, so the model's state is never left half-notified.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Callback = Callable[["Event"], Any]


@dataclass(frozen=True)
class Event:
    """One change of a model. ``type`` names it; the other fields say what changed (None = not relevant)."""

    type: str
    source: Any = None
    #: the new value (an Edit, a caption, a status …)
    value: Any = None
    #: the value before the change, so listeners (undo) can invert it
    old: Any = None
    #: the field that changed, for ``*_changed`` events
    field: str | None = None
    edit_id: str | None = None
    index: int | None = None
    frame: int | None = None
    render_id: str | None = None


class _Ref:
    """A callback held weakly when it is a bound method, strongly otherwise."""

    def __init__(self, cb: Callback) -> None:
        self._strong: Callback | None = None
        self._weak: weakref.WeakMethod | None = None
        if hasattr(cb, "__self__") and hasattr(cb, "__func__"):
            self._weak = weakref.WeakMethod(cb)
        else:
            self._strong = cb

    def get(self) -> Callback | None:
        return self._strong if self._weak is None else self._weak()

    def matches(self, cb: Callback) -> bool:
        return self.get() == cb


class EventEmitter:
    """Emits one type of event to its callbacks (and to its group)."""

    def __init__(self, source: Any = None, type: str = "", group: EmitterGroup | None = None) -> None:
        self.source = source
        self.type = type
        self._group = group
        self._refs: list[_Ref] = []
        self._blocked = 0

    def connect(self, callback: Callback) -> Callback:
        """Call ``callback(event)`` on every emission; returns the callback (usable as a decorator)."""
        if not any(r.matches(callback) for r in self._refs):
            self._refs.append(_Ref(callback))
        return callback

    def disconnect(self, callback: Callback | None = None) -> None:
        """Remove one callback, or all of them when ``callback`` is None."""
        self._refs = [] if callback is None else [r for r in self._refs if not r.matches(callback)]

    @property
    def callbacks(self) -> list[Callback]:
        """The live callbacks, in connection order."""
        return [cb for cb in (r.get() for r in self._refs) if cb is not None]

    @contextlib.contextmanager
    def blocker(self) -> Iterator[None]:
        """Emit nothing inside the ``with`` block."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1

    def __call__(self, **fields: Any) -> Event | None:
        """Emit an event of this type with ``fields``; returns it (None when blocked)."""
        if self._blocked or (self._group is not None and self._group._blocked):
            return None
        event = Event(type=self.type, source=fields.pop("source", self.source), **fields)
        self._refs = [r for r in self._refs if r.get() is not None]
        callbacks = self.callbacks + (self._group.callbacks if self._group is not None else [])
        _call_all(callbacks, event)
        return event


def _call_all(callbacks: list[Callback], event: Event) -> None:
    first_error: BaseException | None = None
    for cb in callbacks:
        try:
            cb(event)
        except Exception as exc:  # one broken view must not silence the others
            log.exception("error in a callback of %r", event.type)
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


class EmitterGroup:
    """Named emitters of one model; connecting to the group receives every event."""

    def __init__(self, source: Any = None, names: tuple[str, ...] = ()) -> None:
        self.source = source
        self._emitters: dict[str, EventEmitter] = {}
        self._all = EventEmitter(source, "*")
        self._blocked = 0
        for name in names:
            self.add(name)

    def add(self, name: str) -> EventEmitter:
        """Add (or return) the emitter called ``name``."""
        if name not in self._emitters:
            self._emitters[name] = EventEmitter(self.source, name, group=self)
        return self._emitters[name]

    def __getattr__(self, name: str) -> EventEmitter:
        emitters = self.__dict__.get("_emitters", {})
        if name in emitters:
            return emitters[name]
        raise AttributeError(f"no event named {name!r}")

    def __getitem__(self, name: str) -> EventEmitter:
        return self._emitters[name]

    @property
    def names(self) -> list[str]:
        return list(self._emitters)

    @property
    def callbacks(self) -> list[Callback]:
        return self._all.callbacks

    def connect(self, callback: Callback) -> Callback:
        """Receive every event of every emitter in the group."""
        return self._all.connect(callback)

    def disconnect(self, callback: Callback | None = None) -> None:
        """Stop receiving group-wide events (``None``: drop every group-wide callback)."""
        self._all.disconnect(callback)

    @contextlib.contextmanager
    def blocker(self) -> Iterator[None]:
        """Emit nothing from any emitter of the group inside the ``with`` block."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1
