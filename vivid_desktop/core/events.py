"""A tiny, Qt-free observer: models emit typed change events, views subscribe with callbacks.

Modelled on napari's ``EmitterGroup`` and InvokeAI's one-class-per-event: every kind of change is its own
frozen dataclass (``Event`` subclass) carrying exactly its fields; a model owns one group that has one
emitter per kind; a view connects a callback and the model never learns who listens::

    class ProjectEvents(EmitterGroup[ProjectEvent]):        # ProjectEvent = NameChanged | EditAdded | …
        def __init__(self) -> None:
            super().__init__()
            self.name_changed = self.add(NameChanged)       # an EventEmitter[NameChanged]

    events.name_changed.connect(lambda ev: print(ev.old, ev.value))   # mypy knows ev is a NameChanged
    events.connect(on_any_change)          # every event of the group (autosave, undo recorder)
    events.emit(NameChanged(old="a", value="b"))
    with events.blocker():                 # nothing is emitted inside
        ...

A listener of the whole group receives the union and dispatches on the class (``match``/``isinstance``),
so mypy refuses a field that the event does not have.

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
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """The base of every change event; subclasses are frozen dataclasses with their own fields."""


E = TypeVar("E", bound=Event)
K = TypeVar("K", bound=Event)


class _Ref(Generic[E]):
    """A callback held weakly when it is a bound method, strongly otherwise."""

    def __init__(self, cb: Callable[[E], Any]) -> None:
        self._strong: Callable[[E], Any] | None = None
        self._weak: weakref.WeakMethod[Callable[[E], Any]] | None = None
        if hasattr(cb, "__self__") and hasattr(cb, "__func__"):
            self._weak = weakref.WeakMethod(cb)
        else:
            self._strong = cb

    def get(self) -> Callable[[E], Any] | None:
        return self._strong if self._weak is None else self._weak()

    def matches(self, cb: Callable[[E], Any]) -> bool:
        return self.get() == cb


class _Callbacks(Generic[E]):
    """An ordered set of callbacks that can be blocked."""

    def __init__(self) -> None:
        self._refs: list[_Ref[E]] = []
        self._blocked = 0

    def connect(self, callback: Callable[[E], Any]) -> Callable[[E], Any]:
        """Call ``callback(event)`` on every emission; returns the callback (usable as a decorator)."""
        if not any(r.matches(callback) for r in self._refs):
            self._refs.append(_Ref(callback))
        return callback

    def disconnect(self, callback: Callable[[E], Any] | None = None) -> None:
        """Remove one callback, or all of them when ``callback`` is None."""
        self._refs = [] if callback is None else [r for r in self._refs if not r.matches(callback)]

    @property
    def callbacks(self) -> list[Callable[[E], Any]]:
        """The live callbacks, in connection order (dead weak ones are dropped)."""
        self._refs = [r for r in self._refs if r.get() is not None]
        return [cb for cb in (r.get() for r in self._refs) if cb is not None]

    @contextlib.contextmanager
    def blocker(self) -> Iterator[None]:
        """Emit nothing inside the ``with`` block."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1


class EventEmitter(_Callbacks[E]):
    """The callbacks of one kind of event (one ``Event`` subclass) of a group."""

    def __init__(self, kind: type[E]) -> None:
        super().__init__()
        self.kind = kind


class EmitterGroup(_Callbacks[E]):
    """One emitter per kind of event of a model; connecting to the group receives every event.

    ``E`` is the union of the group's event classes, so a group-wide callback takes that union.
    """

    def __init__(self) -> None:
        super().__init__()
        self._emitters: dict[type[Event], EventEmitter[Any]] = {}

    def add(self, kind: type[K]) -> EventEmitter[K]:
        """Add the emitter of events of class ``kind`` (keep it as an attribute named after the event)."""
        if kind in self._emitters:
            raise ValueError(f"{kind.__name__} is already emitted by this group")
        emitter = EventEmitter(kind)
        self._emitters[kind] = emitter
        return emitter

    @property
    def kinds(self) -> list[type[Event]]:
        """The event classes of the group, in the order they were added."""
        return list(self._emitters)

    def emit(self, event: E) -> E | None:
        """Call the event's own callbacks, then the group-wide ones; returns it (None when blocked)."""
        emitter = self._emitters.get(type(event))
        if emitter is None:
            raise TypeError(f"{type(event).__name__} is not an event of this group")
        if self._blocked or emitter._blocked:
            return None
        callbacks: list[Callable[[Any], Any]] = [*emitter.callbacks, *self.callbacks]
        _call_all(callbacks, event)
        return event


def _call_all(callbacks: list[Callable[[Any], Any]], event: Event) -> None:
    first_error: BaseException | None = None
    for cb in callbacks:
        try:
            cb(event)
        except Exception as exc:  # one broken view must not silence the others
            log.exception("error in a callback of %s", type(event).__name__)
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
