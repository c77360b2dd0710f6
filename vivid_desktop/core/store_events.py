"""The events of a ``ProjectStore`` (mask pixels and saving); the project's own are in ``project_events``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from vivid_desktop.core.events import EmitterGroup, Event
from vivid_desktop.core.masks import BBox


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskChanged(Event):
    """The mask pixels of ``edit_id`` at ``frame`` changed inside ``box`` (None: anywhere)."""

    edit_id: str
    frame: int
    box: BBox | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Saved(Event):
    """``project.json`` was written."""

    path: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveFailed(Event):
    """``project.json`` could not be written; ``message`` says why."""

    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Warned(Event):
    """Something the user should read that failed nothing (a backup that could not be written)."""

    message: str


StoreEvent: TypeAlias = MaskChanged | Saved | SaveFailed | Warned


class StoreEvents(EmitterGroup[StoreEvent]):
    """``store.events``: one emitter per kind, named after it."""

    def __init__(self) -> None:
        super().__init__()
        self.mask_changed = self.add(MaskChanged)
        self.saved = self.add(Saved)
        self.save_failed = self.add(SaveFailed)
        self.warned = self.add(Warned)
