"""Saving a project: dirty state, atomic and durable ``project.json``, the ring of backups.

Part of :class:`vivid_desktop.core.store.ProjectStore`. A store opened read-only (``problems`` is not
empty: ``project.json`` names something it may not) never writes: ``save()`` raises and the autosaver
skips it. A backup that cannot be written does not fail the save: the store emits ``warned`` instead.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import vivid_desktop
from vivid_desktop.core.autosave import Autosaver
from vivid_desktop.core.files import write_atomic
from vivid_desktop.core.mask_cache import MaskCache
from vivid_desktop.core.mask_storage import MaskStorage
from vivid_desktop.core.paths import is_link
from vivid_desktop.core.project import Project, ProjectError
from vivid_desktop.core.project_events import ProjectEvent
from vivid_desktop.core.store_events import Saved, SaveFailed, StoreEvents, Warned

log = logging.getLogger(__name__)


class ProjectSaving(MaskStorage):
    """Save, backups and the dirty flag (a part of ``ProjectStore``)."""

    project: Project
    events: StoreEvents
    _masks: MaskCache
    #: why the project is read-only (entries of project.json that were refused); empty = writable
    problems: list[str]

    def _init_saving(self) -> None:
        #: make a backup on save when the newest one is older than this (seconds); 0 = every save
        self.backup_interval_s = 300.0
        self._save_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._changes = 0
        self._saved_changes = -1
        self._last_backup = 0.0
        self.project.events.connect(self._on_change)

    @property
    def read_only(self) -> bool:
        return bool(self.problems)

    @property
    def read_only_reason(self) -> str:
        """One message naming what was refused (empty when the project is writable)."""
        if not self.problems:
            return ""
        listed = "; ".join(self.problems[:8]) + (" …" if len(self.problems) > 8 else "")
        return (
            f"{self.project_file} names things outside its project folder or is damaged, so it was "
            f"opened read-only without them (nothing will be saved): {listed}"
        )

    def _on_change(self, _event: ProjectEvent) -> None:
        with self._state_lock:
            self._changes += 1

    @property
    def dirty(self) -> bool:
        """True when something changed since the last save."""
        with self._state_lock:
            return self._changes != self._saved_changes or self._masks.has_dirty

    def save(self, backup: bool | None = None) -> None:
        """Write dirty masks, then ``project.json`` atomically and durably; keep a ring of backups.

        ``backup=None`` makes a backup when the newest is older than ``backup_interval_s``.
        """
        if self.read_only:
            raise ProjectError(self.read_only_reason)
        with self._save_lock:
            try:
                self._flush_masks()
                with self.project.lock, self._state_lock:
                    self.project.written_by = f"vivid-desktop {vivid_desktop.__version__}"
                    text = self.project.to_json()
                    changes = self._changes
                write_atomic(self.project_file, text.encode())
            except OSError as exc:
                self.events.emit(SaveFailed(message=str(exc)))
                raise ProjectError(f"could not save the project in {self.folder}: {exc}") from exc
            with self._state_lock:
                self._saved_changes = changes
            if backup or (backup is None and time.monotonic() - self._last_backup >= self.backup_interval_s):
                self._backup(text)
        self.events.emit(Saved(path=self.project_file))

    def _backup(self, text: str) -> None:
        """Write a backup; a failure is a warning (the project itself is saved)."""
        try:
            self._write_backup(text)
        except (OSError, ProjectError) as exc:
            message = f"the project was saved, but its backup could not be written: {exc}"
            log.warning(message)
            self.events.emit(Warned(message=message))

    def _write_backup(self, text: str) -> None:
        folder = self.backups_dir
        if is_link(folder):
            raise ProjectError(f"{folder} is a link; backups are never written or deleted through links")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        write_atomic(folder / f"project-{stamp}.json", text.encode(), durable=False)
        self._last_backup = time.monotonic()
        keep = self.project.settings.backups
        for old in self.backups()[keep:] if keep else self.backups():
            with contextlib.suppress(OSError):
                old.unlink()

    def backups(self) -> list[Path]:
        """Backups of ``project.json``, newest first (regular files only: links are left alone)."""
        folder = self.backups_dir
        if is_link(folder) or not folder.is_dir():
            return []
        found = (p for p in folder.glob("project-*.json") if p.is_file() and not p.is_symlink())
        return sorted(found, reverse=True)

    def autosaver(self, delay_s: float = 1.0, max_delay_s: float = 2.5) -> Autosaver:
        """A started ``Autosaver`` for this store (call ``stop()`` when closing)."""
        return Autosaver(self, delay_s=delay_s, max_delay_s=max_delay_s).start()
