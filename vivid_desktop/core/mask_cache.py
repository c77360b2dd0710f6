"""The store's in-memory masks: painted pixels not yet written, plus a few recently read ones.

Painting changes masks many times a second; writing a PNG each time would stall the UI. The cache keeps
the newest pixels of every *dirty* mask until a save writes them, and an LRU of clean masks so that
flipping between keyframes does not re-read files. Thread-safe (the autosaver flushes from its thread).

Usage (inside ``ProjectStore``)::

    cache.put(key, mask)                 # dirty until taken by a save
    cache.get(key)                       # a copy, or None
    items = cache.take_dirty(); write them   # on failure: cache.return_dirty(items)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

#: (edit id, frame)
MaskKey = tuple[str, int]


class MaskCache:
    """Dirty masks (kept until saved) and up to ``clean_limit`` clean ones (least recently used go)."""

    def __init__(self, clean_limit: int = 12) -> None:
        self.clean_limit = clean_limit
        self._masks: OrderedDict[MaskKey, np.ndarray] = OrderedDict()
        self._dirty: set[MaskKey] = set()
        self._lock = threading.Lock()

    def get(self, key: MaskKey) -> np.ndarray | None:
        with self._lock:
            mask = self._masks.get(key)
            if mask is None:
                return None
            self._masks.move_to_end(key)
            return mask.copy()

    def put(self, key: MaskKey, mask: np.ndarray, dirty: bool = True) -> None:
        """Remember ``mask`` (copied); ``dirty`` masks stay until a save takes them. A clean mask (read
        from its file, perhaps on a worker thread that started reading before the user painted) never
        replaces painted pixels that are not saved yet."""
        with self._lock:
            if not dirty and key in self._dirty:
                return
            self._masks[key] = mask.copy()
            self._masks.move_to_end(key)
            if dirty:
                self._dirty.add(key)
            self._evict()

    def take_dirty(self) -> list[tuple[MaskKey, np.ndarray]]:
        """The dirty masks (now counted clean); give them back with ``return_dirty`` if writing fails."""
        with self._lock:
            items = [(key, self._masks[key]) for key in self._dirty]
            self._dirty.clear()
            return items

    def return_dirty(self, items: Iterable[tuple[MaskKey, np.ndarray]]) -> None:
        """Mark masks a failed save took as dirty again (a newer put of the same key wins)."""
        with self._lock:
            for key, mask in items:
                if key not in self._dirty:
                    self._masks.setdefault(key, mask)
                    self._dirty.add(key)

    @property
    def has_dirty(self) -> bool:
        with self._lock:
            return bool(self._dirty)

    def _evict(self) -> None:
        clean = [k for k in self._masks if k not in self._dirty]  # oldest first
        for key in clean[: max(0, len(clean) - self.clean_limit)]:
            del self._masks[key]
