"""Exact time: frames ↔ seconds, SMPTE timecode (drop-frame checked against its definition)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vivid_desktop.core.timebase import (
    TimecodeError,
    format_clock,
    format_rate,
    frame_to_seconds,
    frames_to_timecode,
    nominal_fps,
    parse_rate,
    seconds_to_frame,
    timecode_to_frames,
)

NTSC = Fraction(30000, 1001)
NTSC60 = Fraction(60000, 1001)


def test_rates_parse_and_format_exactly():
    assert parse_rate("30000/1001") == NTSC
    assert parse_rate("25") == 25 and parse_rate(24) == 24
    assert format_rate(NTSC) == "30000/1001" and format_rate(Fraction(25)) == "25/1"
    for bad in ("abc", "0", "-25", "1/0"):
        with pytest.raises(TimecodeError):
            parse_rate(bad)
    assert [nominal_fps(r) for r in (NTSC, NTSC60, Fraction(24000, 1001), Fraction(25), Fraction(30))] == [
        30,
        60,
        24,
        25,
        30,
    ]


def test_frames_and_seconds_round_trip_without_drift():
    assert frame_to_seconds(30, NTSC) == Fraction(1001, 1000)
    for n in (0, 1, 29, 30, 17982, 107892, 10**7 + 3):
        assert seconds_to_frame(frame_to_seconds(n, NTSC), NTSC) == n
    assert seconds_to_frame(Fraction(1, 2), Fraction(25)) == 12
    assert seconds_to_frame(Fraction(49, 100), Fraction(25)) == 12  # floor: the frame on screen
    assert seconds_to_frame(Fraction(49, 100), Fraction(25), "nearest") == 12
    assert seconds_to_frame(Fraction(50, 100) + Fraction(1, 50), Fraction(25), "nearest") == 13


def test_non_drop_timecode():
    assert frames_to_timecode(0, Fraction(25)) == "00:00:00:00"
    assert frames_to_timecode(25 * 3661 + 7, Fraction(25)) == "01:01:01:07"
    assert timecode_to_frames("01:01:01:07", Fraction(25)) == 25 * 3661 + 7
    assert frames_to_timecode(1800, NTSC, drop_frame=False) == "00:01:00:00"
    assert frames_to_timecode(25 * 3600 * 30, Fraction(25)) == "30:00:00:00"  # hours do not wrap
    assert frames_to_timecode(125, Fraction(120)) == "00:00:01:005"  # 3 digits of frames above 100 fps


def test_drop_frame_known_values():
    assert frames_to_timecode(1799, NTSC) == "00:00:59;29"
    assert frames_to_timecode(1800, NTSC) == "00:01:00;02"  # labels ;00 and ;01 skipped
    assert frames_to_timecode(17982, NTSC) == "00:10:00;00"  # not skipped on the tenth minute
    assert frames_to_timecode(107892, NTSC) == "01:00:00;00"  # an hour of labels ≈ an hour of clock
    assert frames_to_timecode(3600, NTSC60) == "00:01:00;04"
    assert timecode_to_frames("00:01:00;02", NTSC) == 1800
    assert timecode_to_frames("01:00:00;00", NTSC) == 107892


@pytest.mark.parametrize("rate", [NTSC, NTSC60])
def test_drop_frame_matches_its_definition(rate):
    """Count labels the slow way over 11 minutes: every frame gets the next label not skipped."""
    fps = nominal_fps(rate)
    drop = 2 if fps == 30 else 4
    labels = []
    for minute in range(11):
        for second in range(60):
            for ff in range(fps):
                if second == 0 and ff < drop and minute % 10 != 0:
                    continue
                labels.append(f"00:{minute:02d}:{second:02d};{ff:02d}")
    for n, label in enumerate(labels):
        assert frames_to_timecode(n, rate) == label
        assert timecode_to_frames(label, rate) == n


def test_invalid_timecodes_are_refused_clearly():
    with pytest.raises(TimecodeError, match="does not exist"):
        timecode_to_frames("00:01:00;00", NTSC)
    with pytest.raises(TimecodeError, match="out of range"):
        timecode_to_frames("00:00:00:25", Fraction(25))
    with pytest.raises(TimecodeError, match="drop-frame"):
        frames_to_timecode(10, Fraction(25), drop_frame=True)
    with pytest.raises(TimecodeError):
        timecode_to_frames("1:2:3", Fraction(25))
    with pytest.raises(TimecodeError):
        frames_to_timecode(-1, Fraction(25))


def test_clock():
    assert format_clock(30, NTSC) == "00:00:01.001"
    assert format_clock(25 * 3725, Fraction(25)) == "01:02:05.000"
