"""Exact rational time: frames ↔ seconds with a ``Fraction`` rate, and SMPTE timecode.

The project timeline is constant-rate; a rate is a ``Fraction`` (30000/1001 stays 30000/1001) and seconds
are ``Fraction`` too, never float, so a frame number survives any number of round trips.

Usage::

    rate = parse_rate("30000/1001")
    frame_to_seconds(30, rate)                 # Fraction(1001, 1000)
    seconds_to_frame(Fraction(1001, 1000), rate)   # 30
    frames_to_timecode(17982, rate)            # "00:10:00;00" (drop-frame by default at 29.97)
    timecode_to_frames("00:10:00;00", rate)    # 17982
    frames_to_timecode(90, Fraction(30))       # "00:00:03:00"

Drop-frame (SMPTE 12M) is offered for 30000/1001 and 60000/1001 only: frame *labels* 0 and 1 (0–3 at
59.94) are skipped at the start of every minute except every tenth minute, so the label tracks the wall
clock. It is written with ``;`` before the frames; non-drop timecode uses ``:``.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

DROP_FRAME_RATES = (Fraction(30000, 1001), Fraction(60000, 1001))

_TC_RE = re.compile(r"^\s*(-?)(\d+):(\d{1,2}):(\d{1,2})([:;.,])(\d{1,3})\s*$")


class TimecodeError(ValueError):
    """A timecode or rate that cannot be read or written; the message says why."""


def parse_rate(text: str | int | float | Fraction) -> Fraction:
    """``"30000/1001"``, ``"25"``, ``25`` or a Fraction → a positive Fraction."""
    try:
        rate = Fraction(text) if not isinstance(text, float) else Fraction(text).limit_denominator(1001)
    except (ValueError, ZeroDivisionError) as exc:
        raise TimecodeError(f"{text!r} is not a frame rate (write it like 25 or 30000/1001)") from exc
    if rate <= 0:
        raise TimecodeError(f"a frame rate must be positive, not {text!r}")
    return rate


def format_rate(rate: Fraction) -> str:
    """A Fraction → ``"num/den"`` (always with a denominator, so the format is one shape)."""
    rate = Fraction(rate)
    return f"{rate.numerator}/{rate.denominator}"


def frame_to_seconds(frame: int, rate: Fraction) -> Fraction:
    """The start time of ``frame`` in exact seconds."""
    return Fraction(frame) / Fraction(rate)


def seconds_to_frame(seconds: Fraction | int | float, rate: Fraction, rounding: str = "floor") -> int:
    """The frame shown at ``seconds``: ``floor`` (the frame that contains it) or ``nearest``."""
    exact = Fraction(seconds) * Fraction(rate)
    if rounding == "floor":
        return math.floor(exact)
    if rounding == "nearest":
        return math.floor(exact + Fraction(1, 2))
    raise ValueError(f"rounding must be 'floor' or 'nearest', not {rounding!r}")


def nominal_fps(rate: Fraction) -> int:
    """The integer frames-per-second that timecode counts in (24 for 23.976, 30 for 29.97)."""
    return max(1, math.ceil(Fraction(rate) - Fraction(1, 1000)))


def is_drop_frame_rate(rate: Fraction) -> bool:
    return Fraction(rate) in DROP_FRAME_RATES


def _drop_count(rate: Fraction) -> int:
    return 2 * nominal_fps(rate) // 30  # 2 labels at 29.97, 4 at 59.94


def frames_to_timecode(frame: int, rate: Fraction, drop_frame: bool | None = None) -> str:
    """``frame`` → ``"HH:MM:SS:FF"`` (``"HH:MM:SS;FF"`` for drop-frame). ``drop_frame=None``: drop-frame
    exactly where the rate allows it. Hours are not wrapped at 24."""
    rate = Fraction(rate)
    if frame < 0:
        raise TimecodeError(f"a timecode cannot be negative (frame {frame})")
    if drop_frame is None:
        drop_frame = is_drop_frame_rate(rate)
    if drop_frame and not is_drop_frame_rate(rate):
        raise TimecodeError(f"drop-frame timecode exists only for 29.97 and 59.94 fps, not {float(rate):g}")
    fps = nominal_fps(rate)
    label = _drop_frame_label(frame, rate) if drop_frame else frame
    ff = label % fps
    total_s = label // fps
    hh, rem = divmod(total_s, 3600)
    mm, ss = divmod(rem, 60)
    width = len(str(fps - 1))
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop_frame else ':'}{ff:0{max(2, width)}d}"


def _drop_frame_label(frame: int, rate: Fraction) -> int:
    """A real frame count → the running label count with the skipped labels added back."""
    fps = nominal_fps(rate)
    drop = _drop_count(rate)
    per_minute = fps * 60 - drop  # real frames in a minute that drops
    per_ten = fps * 600 - 9 * drop  # real frames in ten minutes
    tens, rem = divmod(frame, per_ten)
    extra = 9 * drop * tens
    if rem > drop:
        extra += drop * ((rem - drop) // per_minute)
    return frame + extra


def timecode_to_frames(text: str, rate: Fraction, drop_frame: bool | None = None) -> int:
    """``"HH:MM:SS:FF"`` or ``"HH:MM:SS;FF"`` → a frame number. A ``;`` (or ``.``/``,``) before the frames
    means drop-frame unless ``drop_frame`` says otherwise. Labels that drop-frame skips are refused."""
    rate = Fraction(rate)
    m = _TC_RE.match(text)
    if not m:
        raise TimecodeError(f"{text!r} is not a timecode (write it like 01:02:03:04)")
    sign, hh, mm, ss, sep, ff = m.groups()
    h, mi, s, f = int(hh), int(mm), int(ss), int(ff)
    if sign:
        raise TimecodeError(f"a timecode cannot be negative ({text!r})")
    fps = nominal_fps(rate)
    if mi > 59 or s > 59 or f >= fps:
        raise TimecodeError(f"{text!r} is out of range at {float(rate):g} fps (frames go up to {fps - 1})")
    if drop_frame is None:
        drop_frame = sep != ":"
    if drop_frame and not is_drop_frame_rate(rate):
        raise TimecodeError(f"drop-frame timecode exists only for 29.97 and 59.94 fps, not {float(rate):g}")
    label = ((h * 60 + mi) * 60 + s) * fps + f
    if not drop_frame:
        return label
    drop = _drop_count(rate)
    if s == 0 and f < drop and mi % 10 != 0:
        raise TimecodeError(f"{text!r} does not exist in drop-frame timecode (labels skipped each minute)")
    minutes = h * 60 + mi
    return label - drop * (minutes - minutes // 10)


def format_clock(frame: int, rate: Fraction) -> str:
    """``frame`` → wall-clock ``"HH:MM:SS.mmm"`` of its start (milliseconds rounded down)."""
    ms = math.floor(frame_to_seconds(frame, rate) * 1000)
    hh, rem = divmod(ms, 3_600_000)
    mm, rem = divmod(rem, 60_000)
    ss, ms = divmod(rem, 1000)
    return f"{hh:02d}:{mm:02d}:{ss:02d}.{ms:03d}"


def parse_position(text: str, rate: Fraction, current: int = 0) -> int:
    """What an editor types into a timecode field → a frame number (not clamped).

    ``120`` is frame 120; ``1:02:03:04``, ``2:03:04`` or ``3:04`` a timecode (the missing fields are
    zero, as NLEs fill from the right); a leading ``+``/``-`` moves from ``current`` by frames or by a
    timecode (``+12``, ``-1:00``). Raises ``TimecodeError`` with a one-line reason.
    """
    text = text.strip()
    sign = text[:1] if text[:1] in "+-" else ""
    body = text[1:].strip() if sign else text
    if re.fullmatch(r"\d+", body):
        amount = int(body)
    elif re.fullmatch(r"\d+([:;.,]\d+){1,3}", body):
        parts = re.split(r"[:;.,]", body)
        seps = re.findall(r"[:;.,]", body)
        full = ["0"] * (4 - len(parts)) + parts
        last = seps[-1] if len(parts) == 4 else ":"
        amount = timecode_to_frames(f"{full[0]}:{full[1]}:{full[2]}{last}{full[3]}", rate)
    else:
        raise TimecodeError(f"{text!r} is neither a frame number nor a timecode (like 120 or 00:00:05:00)")
    if sign == "+":
        return current + amount
    if sign == "-":
        return current - amount
    return amount
