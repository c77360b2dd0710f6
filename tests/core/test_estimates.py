"""Time estimates from speeds measured on this machine."""

from __future__ import annotations

import pytest

from vivid_desktop.core.estimates import GUESS_FPS, PlanEstimate, SpeedBook, describe_estimate


def test_a_measured_speed_is_remembered_per_engine_and_resolution():
    book = SpeedBook()
    guess = book.speed("flow", 1280, 720)
    assert guess.fps == GUESS_FPS["flow"] and not guess.measured
    book.record("flow", 1280, 720, frames=36, seconds=25.0)
    assert book.speed("flow", 1280, 720).fps == pytest.approx(36 / 25)
    book.record("flow", 1280, 720, frames=36, seconds=12.0)  # the newest run weighs more
    assert 36 / 25 < book.speed("flow", 1280, 720).fps < 36 / 12
    # another resolution of the same engine: scaled by the pixel count
    assert book.speed("flow", 640, 360).fps == pytest.approx(book.speed("flow", 1280, 720).fps * 4)
    assert book.speed("flow", 640, 360).measured
    assert not book.speed("vivid", 1280, 720).measured  # no measurement of that engine yet
    again = SpeedBook(dict(book.entries, junk="x", bad=-1))  # what the settings gave back
    assert again.entries == book.entries


def test_the_estimate_counts_tracking_and_says_where_the_speed_comes_from():
    e = PlanEstimate("flow", 150, 1, 150, 20.0, 55.0, True, 10**8, 10**10)
    text = describe_estimate(e)
    assert "150 frames" in text and "about 75 s" in text and "tracking 20 s first" in text
    assert "measured on this machine" in text
    guess = PlanEstimate("vivid", 98, 3, 0, 0.0, 400.0, False, 0, None)
    assert "3 windows" in describe_estimate(guess) and "first guess" in describe_estimate(guess)
