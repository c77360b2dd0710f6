"""Undo log with transactions, merging and compact mask diffs (after Pitivi's ``undo.py``).

A *step* is what one Ctrl+Z undoes: the actions recorded inside one ``transaction``, or a single action
pushed outside of one. The ``ProjectRecorder`` turns the project's change events into actions, so model
code knows nothing about undo::

    log = UndoLog(limit=200)
    ProjectRecorder(project, log)                    # every project change becomes undoable
    with log.transaction("Delete edit"):            # several changes, one step
        project.remove_edit(edit_id)
    with log.transaction("Strength", merge_key=(edit_id, "strength")):   # a slider drag: one step
        project.set_edit_setting(edit_id, "strength", value)
    log.break_merge()                                # on slider release: the next drag is a new step
    log.push(MaskEdit.from_masks("Brush stroke", before, after, apply))  # only the changed box is kept
    log.undo(); log.redo(); log.can_undo; log.undo_label   # "Undo Brush stroke"
    log.events.changed.connect(update_menus)

Use the log from one thread (the GUI's). While an undo or redo runs, pushes are ignored: the model changes
it causes are not new history.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vivid_desktop.core.events import EmitterGroup, Event
from vivid_desktop.core.masks import BBox, changed_bbox
from vivid_desktop.core.project import Project
from vivid_desktop.core.project_events import (
    EditAdded,
    EditChanged,
    EditMoved,
    EditRemoved,
    KeyframeAdded,
    KeyframeChanged,
    KeyframeRemoved,
    NameChanged,
    ProjectEvent,
    RangeChanged,
)


@dataclass(frozen=True, slots=True)
class UndoChanged(Event):
    """The undo or redo stack changed (menus update their labels)."""


class UndoEvents(EmitterGroup[UndoChanged]):
    """``log.events``."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = self.add(UndoChanged)


class Action:
    """One undoable change. Subclasses implement ``undo`` and ``redo``."""

    label: str = ""
    nbytes: int = 64

    def undo(self) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        raise NotImplementedError

    def merge(self, later: Action) -> bool:
        """Absorb ``later`` (a later change of the same thing) and return True, or return False."""
        return False


class CallbackAction(Action):
    """An action from two callables."""

    def __init__(self, label: str, undo: Callable[[], Any], redo: Callable[[], Any]) -> None:
        self.label, self._undo, self._redo = label, undo, redo

    def undo(self) -> None:
        self._undo()

    def redo(self) -> None:
        self._redo()


class ValueChange(Action):
    """``setter(old)`` to undo, ``setter(new)`` to redo; later changes of the same ``key`` merge."""

    def __init__(self, label: str, key: Hashable, setter: Callable[[Any], Any], old: Any, new: Any) -> None:
        self.label, self.key, self.setter, self.old, self.new = label, key, setter, old, new

    def undo(self) -> None:
        self.setter(self.old)

    def redo(self) -> None:
        self.setter(self.new)

    def merge(self, later: Action) -> bool:
        if isinstance(later, ValueChange) and later.key == self.key:
            self.new = later.new
            return True
        return False


class MaskEdit(Action):
    """A mask change stored as the before/after pixels of the changed box only."""

    def __init__(
        self,
        label: str,
        box: BBox,
        before: np.ndarray,
        after: np.ndarray,
        apply: Callable[[BBox, np.ndarray], Any],
    ):
        self.label, self.box, self.before, self.after, self.apply = label, box, before, after, apply
        self.nbytes = before.nbytes + after.nbytes + 64

    @classmethod
    def from_masks(
        cls, label: str, before: np.ndarray, after: np.ndarray, apply: Callable[[BBox, np.ndarray], Any]
    ) -> MaskEdit | None:
        """The edit that turns ``before`` into ``after``; None when nothing changed.

        ``apply(box, pixels)`` must write ``pixels`` into ``mask[box.slices]`` of the live mask.
        """
        box = changed_bbox(before, after)
        if box is None:
            return None
        return cls(label, box, before[box.slices].copy(), after[box.slices].copy(), apply)

    def undo(self) -> None:
        self.apply(self.box, self.before.copy())

    def redo(self) -> None:
        self.apply(self.box, self.after.copy())


@dataclass
class Step:
    """The actions one undo reverts, in the order they happened."""

    label: str
    merge_key: Hashable | None = None
    actions: list[Action] = field(default_factory=list)
    committed_at: float = 0.0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.actions)

    def add(self, action: Action) -> None:
        if not (self.actions and self.actions[-1].merge(action)):
            self.actions.append(action)

    def undo(self) -> None:
        for action in reversed(self.actions):
            action.undo()

    def redo(self) -> None:
        for action in self.actions:
            action.redo()


class UndoLog:
    """Undo and redo stacks of ``Step``s, with a step limit and a memory limit."""

    def __init__(
        self, limit: int = 200, max_bytes: int = 256 << 20, merge_timeout_s: float | None = 2.0
    ) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        #: steps with the same merge key merge only when the previous one is at most this old (None: always)
        self.merge_timeout_s = merge_timeout_s
        self.events = UndoEvents()
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._open: list[Step] = []  # nested transactions; the outermost collects
        self._applying = False
        self._merge_open = True
        self._clean_step: Step | None = None

    # ---------------------------------------------------------------- record
    @property
    def applying(self) -> bool:
        """True while an undo/redo runs (changes then are not recorded)."""
        return self._applying

    def push(self, action: Action | None) -> None:
        """Record an action that already happened (ignored while undoing/redoing, or when None)."""
        if action is None or self._applying:
            return
        if self._open:
            self._open[0].add(action)
        else:
            self._commit(Step(action.label, None, [action]))  # merging is asked for by a transaction

    @contextlib.contextmanager
    def transaction(self, label: str, merge_key: Hashable | None = None) -> Iterator[Step]:
        """Group every change inside into one step. On an exception the changes are rolled back."""
        step = Step(label, merge_key)
        self._open.append(step)
        try:
            yield step
        except BaseException:
            self._open.pop()
            if len(self._open) == 0:
                self._apply(step.undo)
            raise
        self._open.pop()
        if not self._open:
            self._commit(step)

    def break_merge(self) -> None:
        """The next step never merges into the current top (call it when a drag ends)."""
        self._merge_open = False

    def _commit(self, step: Step) -> None:
        if not step.actions:
            return
        now = time.monotonic()
        top = self._undo[-1] if self._undo else None
        if (
            top is not None
            and self._merge_open
            and step.merge_key is not None
            and step.merge_key == top.merge_key
            and top is not self._clean_step
            and (self.merge_timeout_s is None or now - top.committed_at <= self.merge_timeout_s)
        ):
            for action in step.actions:
                top.add(action)
            top.committed_at = now
        else:
            step.committed_at = now
            self._undo.append(step)
        self._merge_open = True
        self._redo.clear()
        self._trim()
        self.events.emit(UndoChanged())

    def _trim(self) -> None:
        while len(self._undo) > max(self.limit, 1) or (
            len(self._undo) > 1 and sum(s.nbytes for s in self._undo) > self.max_bytes
        ):
            self._undo.pop(0)

    # ------------------------------------------------------------- undo/redo
    def _apply(self, fn: Callable[[], None]) -> None:
        self._applying = True
        try:
            fn()
        finally:
            self._applying = False

    def undo(self) -> bool:
        """Undo the last step; False when there is none."""
        if not self._undo or self._open:
            return False
        step = self._undo.pop()
        self._apply(step.undo)
        self._redo.append(step)
        self._merge_open = False
        self.events.emit(UndoChanged())
        return True

    def redo(self) -> bool:
        """Redo the last undone step; False when there is none."""
        if not self._redo or self._open:
            return False
        step = self._redo.pop()
        self._apply(step.redo)
        self._undo.append(step)
        self._merge_open = False
        self.events.emit(UndoChanged())
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        """``"Undo <step>"`` for a menu (plain ``"Undo"`` when there is nothing)."""
        return f"Undo {self._undo[-1].label}" if self._undo else "Undo"

    @property
    def redo_label(self) -> str:
        return f"Redo {self._redo[-1].label}" if self._redo else "Redo"

    @property
    def steps(self) -> list[str]:
        """Labels of the undo stack, oldest first."""
        return [s.label for s in self._undo]

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._undo) + sum(s.nbytes for s in self._redo)

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self.events.emit(UndoChanged())

    def mark_clean(self) -> None:
        """Remember the current state (e.g. on save); ``is_clean`` tells when it is reached again."""
        self._clean_step = self._undo[-1] if self._undo else None
        self._merge_open = False

    @property
    def is_clean(self) -> bool:
        return (self._undo[-1] if self._undo else None) is self._clean_step


_LABELS = {
    "caption": "Change caption",
    "task": "Change task",
    "engine": "Change engine",
    "settings": "Change settings",
    "enabled": "Toggle edit",
    "name": "Rename edit",
    "seed": "Change seed",
    "mask_track": "Track mask",
}


class ProjectRecorder:
    """Turns a project's change events into undo actions (renders, relinks and view state are not undone)."""

    def __init__(self, project: Project, log: UndoLog) -> None:
        self.project, self.log = project, log
        # A closure, not a bound method: the project keeps the recorder alive until close().
        self._callback = lambda ev: self._on_event(ev)
        project.events.connect(self._callback)

    def close(self) -> None:
        self.project.events.disconnect(self._callback)

    def _on_event(self, ev: ProjectEvent) -> None:
        if self.log.applying:
            return
        action = self._action(ev)
        if action is not None:
            self.log.push(action)

    def _action(self, ev: ProjectEvent) -> Action | None:
        p = self.project
        match ev:
            case EditAdded(edit_id=eid, index=index, edit=edit):
                return CallbackAction(
                    "Add edit", lambda: p.remove_edit(eid), lambda: p.insert_edit(edit, index)
                )
            case EditRemoved(edit_id=eid, index=index, edit=edit):
                return CallbackAction(
                    "Delete edit", lambda: p.insert_edit(edit, index), lambda: p.remove_edit(eid)
                )
            case EditMoved(edit_id=eid, old=old, index=index):
                return CallbackAction(
                    "Move edit", lambda: p.move_edit(eid, old), lambda: p.move_edit(eid, index)
                )
            case EditChanged(edit_id=eid, field=field):
                setter = _setter(lambda v: p.set_edit_field(eid, field, v))
                return ValueChange(
                    _LABELS.get(field, "Change edit"), ("edit", eid, field), setter, ev.old, ev.value
                )
            case KeyframeAdded(edit_id=eid, frame=frame, keyframe=kf):
                return CallbackAction(
                    "Add keyframe", lambda: p.remove_keyframe(eid, frame), lambda: p.insert_keyframe(eid, kf)
                )
            case KeyframeRemoved(edit_id=eid, frame=frame, keyframe=kf):
                return CallbackAction(
                    "Remove keyframe",
                    lambda: p.insert_keyframe(eid, kf),
                    lambda: p.remove_keyframe(eid, frame),
                )
            case KeyframeChanged(edit_id=eid, frame=frame, field=field):
                fn = p.set_keyframe_mask if field == "mask" else p.set_keyframe_image
                key = ("kf", eid, frame, field)
                return ValueChange(
                    f"Change keyframe {field}", key, lambda v: fn(eid, frame, v), ev.old, ev.value
                )
            case NameChanged():
                return ValueChange("Rename project", ("name",), p.set_name, ev.old, ev.value)
            case RangeChanged():
                return ValueChange("Set in/out", ("range",), lambda v: p.set_range(*v), ev.old, ev.value)
        # Not undone: relinks (SourceChanged), project settings and view state, painted pixels (the
        # painter records those as MaskEdit), renders.
        return None


def _setter(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Copy dict values on the way in, so later edits of a dict never rewrite history."""
    return lambda v: fn(dict(v) if isinstance(v, dict) else v)
