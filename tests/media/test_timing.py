"""Rate detection and the constant-rate timeline, on timestamps as containers really round them."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vivid_desktop.media.timing import COMMON_RATES, detect_rate, snap_rate, timeline_map, timeline_slots

CLOCKS = [Fraction(1, 1000), Fraction(1, 90000), Fraction(1, 12800), Fraction(1, 30000)]


def _pts(times: list[Fraction], time_base: Fraction) -> np.ndarray:
    # Muxers round each timestamp to their clock, as Matroska does to whole milliseconds.
    return np.array([round(t / time_base) for t in times], dtype=np.int64)


@settings(max_examples=60, deadline=None)
@given(
    rate=st.sampled_from(COMMON_RATES),
    clock=st.sampled_from(CLOCKS),
    n=st.integers(2, 400),
    start=st.integers(0, 10**6),
)
def test_constant_rate_is_recognised_on_any_clock(rate, clock, n, start):
    times = [Fraction(start, 1000) + Fraction(i) / rate for i in range(n)]
    pts = _pts(times, clock)
    # container candidates are often wrong or missing; the fit must still find the exact rate
    found, variable = detect_rate(pts, clock, [None, Fraction(0)])
    assert not variable
    if n > 100:  # a few ms-rounded frames cannot tell 30 from 30000/1001; they agree to ¼ frame anyway
        assert found == rate
    assert len(timeline_map(pts, clock, found)) >= n  # identity for CFR, never fewer frames


def test_container_rate_wins_when_it_fits():
    pts = np.arange(0, 10 * 1001, 1001)
    assert detect_rate(pts, Fraction(1, 30000), [Fraction(30000, 1001)]) == (Fraction(30000, 1001), False)


def test_snap():
    assert snap_rate(Fraction(2997, 100)) == Fraction(30000, 1001)
    assert snap_rate(Fraction(3001, 100)) == 30  # 0.03 % off
    assert snap_rate(Fraction(301, 10)) is None  # 0.3 % off: a real, unusual rate
    assert snap_rate(Fraction(301, 10), Fraction(1, 100)) == 30


def test_dropped_frames_are_variable_rate_at_the_nominal_rate():
    k = [0, 1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 14]
    pts = _pts([Fraction(i, 30) for i in k], Fraction(1, 1000))
    rate, variable = detect_rate(pts, Fraction(1, 1000), [Fraction(25)])
    assert variable and rate == 30
    shown = timeline_map(pts, Fraction(1, 1000), rate)
    # a missing frame repeats the one before it; every stored frame appears exactly where it was taken
    assert shown.tolist() == [0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 8, 8, 9, 10, 11]


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 120), min_size=1, max_size=60),
    clock=st.sampled_from(CLOCKS),
)
def test_timeline_rule(gaps, clock):
    """Timeline frame n shows the latest source frame whose time is before (n + ½) / rate."""
    rate = Fraction(30)
    times = [Fraction(0)]
    for g in gaps:
        times.append(times[-1] + Fraction(g, 1000))
    pts = _pts(times, clock)
    pts = np.unique(pts)
    shown = timeline_map(pts, clock, rate)
    exact = [(int(p) - int(pts[0])) * clock for p in pts]
    for n, k in enumerate(shown):
        limit = (n + Fraction(1, 2)) / rate
        assert exact[k] < limit
        assert k == len(pts) - 1 or exact[k + 1] >= limit
    slots = timeline_slots(pts, clock, rate)
    assert len(shown) == slots[-1] + 1
    assert set(shown.tolist()) == {int(np.flatnonzero(slots == s)[-1]) for s in set(slots.tolist())}
