"""FrameCache: least recently used frames go first, and the byte budget is never exceeded."""

from __future__ import annotations

import numpy as np
import pytest

from vivid_desktop.media.cache import FrameCache
from vivid_desktop.media.reader import FrameReader


def _frame(value: int, height: int = 10) -> np.ndarray:
    return np.full((height, 10, 3), value, np.uint8)  # 300 bytes at height 10


def test_budget_and_lru_order():
    cache = FrameCache(budget_bytes=1000)
    for k in range(3):
        cache.put(k, _frame(k))
    assert cache.nbytes == 900 and len(cache) == 3
    assert cache.get(0) is not None  # 0 is now the most recently used
    cache.put(3, _frame(3))
    assert cache.keys() == [2, 0, 3]  # 1 was the least recently used
    assert cache.nbytes == 900 <= cache.budget_bytes
    assert cache.get(1) is None and cache.misses == 1 and cache.hits == 1


def test_replacing_a_key_and_shrinking_the_budget():
    cache = FrameCache(budget_bytes=1000)
    cache.put("a", _frame(1))
    cache.put("a", _frame(2, height=20))
    assert cache.nbytes == 600 and len(cache) == 1
    assert cache.get("a")[0, 0, 0] == 2
    cache.put("b", _frame(3))
    cache.budget_bytes = 400
    assert cache.keys() == ["b"] and cache.nbytes == 300


def test_too_big_for_the_budget_is_not_stored_but_returned_read_only():
    cache = FrameCache(budget_bytes=100)
    frame = cache.put(1, _frame(9))
    assert 1 not in cache and cache.nbytes == 0
    with pytest.raises(ValueError):
        frame[0, 0, 0] = 0


def test_reader_respects_its_budget(clips):
    frame_bytes = 160 * 96 * 3
    with FrameReader(clips.long_gop, cache_bytes=5 * frame_bytes) as reader:
        for n in range(20):
            reader.read(n)
        assert len(reader.cache) == 5 and reader.cache.nbytes <= 5 * frame_bytes
        assert reader.cache.keys() == [15, 16, 17, 18, 19]
        assert reader.is_cached(19) and not reader.is_cached(3)
