"""An LRU cache of decoded frames bounded by bytes, not by count (a 4K frame weighs 24 MiB, a proxy 1.5).

Thread-safe: every operation takes one lock, so a viewer thread may look frames up while a decode thread
fills the cache. Stored arrays are made read-only, because the same array is handed to every caller.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np

DEFAULT_CACHE_BYTES = 256 * 2**20


class FrameCache:
    """Least-recently-used frames, evicted once their total ``nbytes`` would pass ``budget_bytes``.

    A frame larger than the whole budget is not stored. ``hits``/``misses`` count :meth:`get` calls.
    """

    def __init__(self, budget_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if budget_bytes < 0:
            raise ValueError("the cache budget must be >= 0 bytes")
        self._budget = int(budget_bytes)
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def budget_bytes(self) -> int:
        return self._budget

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        with self._lock:
            self._budget = max(0, int(value))
            self._evict()

    @property
    def nbytes(self) -> int:
        """Bytes held now (always <= ``budget_bytes``)."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The frame stored under ``key`` (now the most recently used), or None."""
        with self._lock:
            frame = self._items.get(key)
            if frame is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return frame

    def put(self, key: Hashable, frame: np.ndarray) -> np.ndarray:
        """Store ``frame`` (made read-only) and return it; older frames go when over budget."""
        frame.flags.writeable = False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._nbytes -= old.nbytes
            if frame.nbytes <= self._budget:
                self._items[key] = frame
                self._nbytes += frame.nbytes
                self._evict()
        return frame

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._nbytes = 0

    def _evict(self) -> None:
        while self._nbytes > self._budget and self._items:
            _, frame = self._items.popitem(last=False)
            self._nbytes -= frame.nbytes
