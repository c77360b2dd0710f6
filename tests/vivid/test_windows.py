"""KIVE window planning (pure stdlib): coverage, keyframes, tails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vivid_desktop.protocol.windows import Window, model_length, plan_windows


def _written(windows: list[Window]) -> list[int]:
    return [f for w in windows for f in w.writes]


def test_default_windows_chain_with_one_frame_overlap():
    ws = plan_windows(0, 145, [])
    assert [(w.start, w.stop) for w in ws] == [(0, 49), (48, 97), (96, 145)]
    assert ws[0].known_frame is None
    assert [w.known_frame for w in ws[1:]] == [48, 96]
    assert not any(w.keyframe for w in ws)
    assert _written(ws) == list(range(145))


def test_tail_window_is_padded_to_4k_plus_1():
    ws = plan_windows(10, 70, [])
    tail = ws[-1]
    assert (tail.start, tail.stop, tail.known_frame) == (58, 70, 58)
    assert tail.frames == 12 and tail.model_length == 13 and tail.pad == 1
    assert all(w.model_length % 4 == 1 and w.model_length <= 49 for w in ws)


def test_every_keyframe_starts_a_window_and_is_written_by_it():
    ws = plan_windows(0, 120, [30, 100, 500])
    starts = {w.start: w for w in ws}
    for k in (30, 100):
        assert starts[k].known_frame == k and starts[k].keyframe
        assert k in starts[k].writes
    assert ws[0].start == 0 and ws[0].known_frame is None
    assert ws[0].stop == 30  # the first segment ends where the keyframe's window begins
    assert _written(ws) == list(range(120))


def test_keyframe_at_range_start():
    ws = plan_windows(5, 20, [5])
    assert ws == [Window(5, 20, 5, True)]
    assert list(ws[0].writes) == list(range(5, 20))


def test_short_stride_writes_overlap_once():
    ws = plan_windows(0, 30, [], length=9, stride=4)
    assert _written(ws) == list(range(30))
    assert all(w.known_frame == w.start for w in ws[1:])


@pytest.mark.parametrize("bad", [dict(length=48), dict(stride=49), dict(stride=0)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        plan_windows(0, 10, [], **bad)


def test_model_length():
    assert [model_length(n) for n in (1, 2, 5, 6, 49)] == [1, 5, 5, 9, 49]


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 200),
    n=st.integers(0, 300),
    keys=st.lists(st.integers(0, 600), max_size=6),
    k=st.integers(1, 12),
    data=st.data(),
)
def test_every_frame_written_exactly_once(start, n, keys, k, data):
    length = 4 * k + 1
    stride = data.draw(st.integers(1, length - 1))
    stop = start + n
    ws = plan_windows(start, stop, keys, length=length, stride=stride)
    assert sorted(_written(ws)) == list(range(start, stop))
    assert _written(ws) == sorted(_written(ws))
    inside = {x for x in keys if start <= x < stop}
    assert inside <= {w.start for w in ws if w.keyframe}
    for w in ws:
        assert start <= w.start < w.stop <= stop and w.frames <= length
        assert w.known_frame in (None, w.start)
        assert w.model_length % 4 == 1
