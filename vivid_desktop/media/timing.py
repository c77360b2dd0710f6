"""Frame rates and the constant-rate project timeline, computed from a stream's presentation timestamps.

**Rate.** A stream is *constant-rate* when every frame lies within a quarter of a frame interval of the
grid ``t0 + i / rate`` for one rate ``rate``. The rates tried: the container's own (average, base,
guessed), the fitted rate ``(n - 1) / (t_last - t0)`` snapped to a common rate (24000/1001, 25,
30000/1001, …) within 0.1 %; of those that fit, the one nearest the fitted rate wins; failing all, the
fitted rate itself. Rounded container clocks (Matroska's 1 ms) never
make a constant-rate stream look variable, and 30000/1001 stays 30000/1001.

**Variable rate.** Otherwise the stream is *variable-rate*; its timeline rate is the reciprocal of the
median frame interval, snapped to a common rate within 1 % (phones record "30 fps" with gaps).

**The timeline** (ffmpeg's ``fps`` filter rule, rounding to nearest). Timeline frame ``n`` is the instant
``t0 + n / rate``, where ``t0`` is the first frame's timestamp. Source frame ``k`` with timestamp ``t_k``
lands in slot ``s_k = floor((t_k - t0) * rate + 1/2)``; timeline frame ``n`` shows the *latest* source
frame with ``s_k <= n``. Equivalently: the latest source frame whose timestamp is before
``t0 + (n + 1/2) / rate``. Source frames that share a slot are dropped except the last; slots between
source frames repeat the earlier one. The timeline has ``max(s_last + 1, round((t_end - t0) * rate))``
frames, where ``t_end`` is the end of the last frame. For constant-rate streams the map is the identity.
All of this is exact integer/Fraction arithmetic on the container's timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

#: Rates that cameras, phones and editors use; fitted rates snap to these.
COMMON_RATES: tuple[Fraction, ...] = tuple(
    Fraction(r)
    for r in (
        Fraction(24000, 1001), 24, 25, Fraction(30000, 1001), 30, Fraction(48000, 1001), 48, 50,
        Fraction(60000, 1001), 60, 72, 90, 96, 100, Fraction(120000, 1001), 120, 144, 240,
    )
)  # fmt: skip

_MAX_SANE_RATE = Fraction(1000)


def snap_rate(rate: Fraction, tolerance: Fraction = Fraction(1, 1000)) -> Fraction | None:
    """The common rate nearest to ``rate`` if within ``tolerance`` (relative), else None."""
    if rate <= 0:
        return None
    best = min(COMMON_RATES, key=lambda r: abs(r - rate))
    return best if abs(best - rate) / best <= tolerance else None


def _sane(rate: Fraction | None) -> bool:
    return rate is not None and 0 < rate <= _MAX_SANE_RATE


def fits_constant_rate(offsets: np.ndarray, rate: Fraction) -> bool:
    """True when every offset (seconds from the first frame, float64) is within ¼ frame of ``i / rate``."""
    grid = np.arange(len(offsets), dtype=np.float64) / float(rate)
    return bool(np.max(np.abs(offsets - grid), initial=0.0) <= 0.25 / float(rate))


def detect_rate(
    pts: np.ndarray, time_base: Fraction, candidates: Sequence[Fraction | None] = ()
) -> tuple[Fraction, bool]:
    """``(rate, variable)`` for sorted presentation timestamps ``pts`` (see the module docstring)."""
    sane = [Fraction(c) for c in candidates if c is not None and _sane(c)]
    n = len(pts)
    span = Fraction(int(pts[-1] - pts[0])) * time_base if n else Fraction(0)
    if n < 2 or span <= 0:
        return (sane[0] if sane else Fraction(25)), False
    offsets = (pts - pts[0]).astype(np.float64) * float(time_base)
    fitted = Fraction(n - 1) / span
    snapped = snap_rate(fitted)
    named = sane + ([snapped] if snapped is not None and _sane(snapped) else [])
    fitting = [rate for rate in named if fits_constant_rate(offsets, rate)]
    if fitting:
        # Short clips fit neighbours (30 and 30000/1001) alike: take the one nearest the measured spacing.
        return min(fitting, key=lambda r: abs(r - fitted)), False
    plain = fitted.limit_denominator(1001)
    if _sane(plain) and fits_constant_rate(offsets, plain):
        return plain, False
    return _typical_rate(np.diff(pts), time_base), True


def _typical_rate(intervals: np.ndarray, time_base: Fraction) -> Fraction:
    """The rate of the typical interval: the mean of the intervals near the median, snapped."""
    intervals = intervals[intervals > 0]
    median = float(np.median(intervals))
    regular = intervals[np.abs(intervals - median) <= 0.25 * median]
    mean = Fraction(int(regular.sum()), len(regular)) * time_base
    rate = Fraction(1) / mean
    # A clock that ticks in whole milliseconds blurs a single interval by up to one tick.
    tolerance = max(Fraction(1, 100), time_base / mean)
    return snap_rate(rate, tolerance) or rate.limit_denominator(1001)


def timeline_slots(pts: np.ndarray, time_base: Fraction, rate: Fraction) -> np.ndarray:
    """Slot ``s_k = floor((t_k - t0) * rate + 1/2)`` of every source frame (exact integer arithmetic)."""
    # (pts - pts0) * tb * rate + 1/2 = (2 * d * tb.num * rate.num + den) / (2 * den), den = tb.den * rate.den
    num = time_base.numerator * rate.numerator
    den = time_base.denominator * rate.denominator
    return np.array([(2 * int(d) * num + den) // (2 * den) for d in (pts - pts[0])], dtype=np.int64)


def timeline_map(
    pts: np.ndarray, time_base: Fraction, rate: Fraction, end_pts: int | None = None
) -> np.ndarray:
    """The source frame each timeline frame shows (module docstring); ``end_pts``: the last frame's end."""
    slots = timeline_slots(pts, time_base, rate)
    count = int(slots[-1]) + 1
    if end_pts is not None and end_pts > pts[-1]:
        end = Fraction(int(end_pts - pts[0])) * time_base * rate
        count = max(count, int(end + Fraction(1, 2)))
    return (np.searchsorted(slots, np.arange(count), side="right") - 1).astype(np.int64)
