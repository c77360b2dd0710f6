"""The change events of a ``Project``: one frozen class per kind, each with exactly the fields it needs.

``old`` is the value before the change and ``value`` the value after (the undo recorder inverts with
them); ``edit_id``, ``frame``, ``render_id`` say where it happened. Events are emitted after the change,
on the thread that made it. ``ProjectEvent`` is their union: a listener of every project change takes it
and dispatches with ``match``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from vivid_desktop.core.events import EmitterGroup, Event

if TYPE_CHECKING:
    from vivid_desktop.core.project import Edit, Keyframe, Render, RenderStatus, SourceClip


@dataclass(frozen=True, slots=True, kw_only=True)
class NameChanged(Event):
    old: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceChanged(Event):
    """The source was relinked (``old`` and ``value`` are copies of the clip's description)."""

    old: SourceClip
    value: SourceClip


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeChanged(Event):
    """The in/out range, as ``(in_frame, out_frame)`` (``out_frame`` exclusive, None = end of clip)."""

    old: tuple[int, int | None]
    value: tuple[int, int | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsChanged(Event):
    """One field of ``ProjectSettings`` changed."""

    field: str
    old: Any
    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class EditAdded(Event):
    edit_id: str
    index: int
    edit: Edit


@dataclass(frozen=True, slots=True, kw_only=True)
class EditRemoved(Event):
    """``index`` is where the edit was."""

    edit_id: str
    index: int
    edit: Edit


@dataclass(frozen=True, slots=True, kw_only=True)
class EditMoved(Event):
    """The edit moved from position ``old`` to ``index`` in the layer order."""

    edit_id: str
    old: int
    index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EditChanged(Event):
    """One of the ``EDIT_FIELDS`` of an edit changed (dicts and models are copies)."""

    edit_id: str
    field: str
    old: Any
    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyframeAdded(Event):
    edit_id: str
    frame: int
    keyframe: Keyframe


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyframeRemoved(Event):
    edit_id: str
    frame: int
    keyframe: Keyframe


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyframeChanged(Event):
    """A keyframe's mask or edited-image file name changed."""

    edit_id: str
    frame: int
    field: Literal["mask", "image"]
    old: str | None
    value: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyframePainted(Event):
    """A keyframe's mask pixels changed (its file name did not): not undone here, the painter records it."""

    edit_id: str
    frame: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderAdded(Event):
    edit_id: str
    render_id: str
    render: Render


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderChanged(Event):
    """A render's status changed (its progress and message may have changed with it)."""

    edit_id: str
    render_id: str
    old: RenderStatus
    value: RenderStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderRemoved(Event):
    edit_id: str
    render_id: str
    render: Render


ProjectEvent: TypeAlias = (
    NameChanged
    | SourceChanged
    | RangeChanged
    | SettingsChanged
    | EditAdded
    | EditRemoved
    | EditMoved
    | EditChanged
    | KeyframeAdded
    | KeyframeRemoved
    | KeyframeChanged
    | KeyframePainted
    | RenderAdded
    | RenderChanged
    | RenderRemoved
)
#: the events about one keyframe
KEYFRAME_EVENTS = (KeyframeAdded, KeyframeRemoved, KeyframeChanged, KeyframePainted)
#: the events about one edit and what it holds (its keyframes and renders)
EDIT_EVENTS = (EditAdded, EditRemoved, EditMoved, EditChanged, *KEYFRAME_EVENTS)


class ProjectEvents(EmitterGroup[ProjectEvent]):
    """``project.events``: one emitter per kind, named after it; the group receives them all."""

    def __init__(self) -> None:
        super().__init__()
        self.name_changed = self.add(NameChanged)
        self.source_changed = self.add(SourceChanged)
        self.range_changed = self.add(RangeChanged)
        self.settings_changed = self.add(SettingsChanged)
        self.edit_added = self.add(EditAdded)
        self.edit_removed = self.add(EditRemoved)
        self.edit_moved = self.add(EditMoved)
        self.edit_changed = self.add(EditChanged)
        self.keyframe_added = self.add(KeyframeAdded)
        self.keyframe_removed = self.add(KeyframeRemoved)
        self.keyframe_changed = self.add(KeyframeChanged)
        self.keyframe_painted = self.add(KeyframePainted)
        self.render_added = self.add(RenderAdded)
        self.render_changed = self.add(RenderChanged)
        self.render_removed = self.add(RenderRemoved)
