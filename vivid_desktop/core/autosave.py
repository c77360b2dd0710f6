"""Autosave, Qt-free: a background thread saves the project soon after it changes.

Debounced: a save happens once the project has been quiet for ``delay_s``, and never later than
``max_delay_s`` after the first unsaved change, so a long slider drag or a streaming render still gets
saved (within 3 s by default) without a save per event. ``stop()`` saves what is pending and joins the
thread.

Usage::

    saver = Autosaver(store, on_error=show_error).start()    # or store.autosaver()
    ...
    saver.stop()          # when the project closes

Saves run on the autosaver's thread; ``ProjectStore.save`` is thread-safe and snapshots the model under its
lock. A failed save is reported through ``on_error`` (and ``store.events.save_failed``) and retried on the
next change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vivid_desktop.core.events import Event
    from vivid_desktop.core.saving import ProjectSaving

log = logging.getLogger(__name__)


class Autosaver:
    """Saves ``store`` on its own thread after changes; ``stop()`` flushes and joins."""

    def __init__(
        self,
        store: ProjectSaving,
        delay_s: float = 1.0,
        max_delay_s: float = 2.5,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.store = store
        self.delay_s = delay_s
        self.max_delay_s = max(max_delay_s, delay_s)
        self.on_error = on_error
        self.saves = 0
        self._cond = threading.Condition()
        self._first: float | None = None  # monotonic time of the first unsaved change
        self._last = 0.0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> Autosaver:
        self.store.project.events.connect(self._changed)
        self.store.events.mask_changed.connect(self._changed)
        if self.store.dirty:
            self._changed()
        self._thread = threading.Thread(target=self._run, name="vivid-autosave", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> Autosaver:
        return self if self._thread else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _changed(self, _event: Event | None = None) -> None:
        now = time.monotonic()
        with self._cond:
            if self._first is None:
                self._first = now
            self._last = now
            self._cond.notify()

    def _due_in(self) -> float | None:
        """Seconds until the pending save is due (≤ 0: now); None when nothing is pending."""
        if self._first is None:
            return None
        return min(self._last + self.delay_s, self._first + self.max_delay_s) - time.monotonic()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    due = self._due_in()
                    if due is not None and due <= 0:
                        break
                    self._cond.wait(due)
                stopping = self._stopping
                pending = self._first is not None
                self._first = None
            if pending or (stopping and self.store.dirty):
                self._save()
            if stopping:
                return

    def _save(self) -> None:
        if not self.store.project.settings.autosave or getattr(self.store, "read_only", False):
            return
        try:
            self.store.save()
            self.saves += 1
        except Exception as exc:  # keep running: the next change retries
            log.warning("autosave failed: %s", exc)
            if self.on_error is not None:
                self.on_error(exc)

    def stop(self, timeout: float = 10.0) -> None:
        """Save what is pending, end the thread and wait for it."""
        self.store.project.events.disconnect(self._changed)
        self.store.events.mask_changed.disconnect(self._changed)
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
