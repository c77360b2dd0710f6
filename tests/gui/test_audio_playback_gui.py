"""Audio follows the transport: 1× playback from the playhead, a snippet per scrubbed frame, mute."""

from __future__ import annotations

import time

import numpy as np
import pytest
from guitools import settle, wait_open
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from vivid_desktop.media.audio import RATE
from vivid_desktop.media.synth import write_click_clip


class RecordingOutput:
    """An audio device that consumes in real time and records what it was given (no sound card here)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.resets = 0
        self._written = 0
        self._since = time.monotonic()

    def open(self, rate: int, channels: int) -> bool:
        self.bps = rate * channels * 2
        return True

    def write(self, data: bytes) -> int:
        self.chunks.append(data)
        self._written += len(data)
        return len(data)

    def free(self) -> int:
        return self.bps

    def queued_seconds(self) -> float:
        return max(0.0, self._written / self.bps - (time.monotonic() - self._since))

    def reset(self) -> None:
        self.resets += 1
        self.chunks.append(b"")  # a reset: what follows starts at a new position
        self._written, self._since = 0, time.monotonic()

    def close(self) -> None:
        pass


def _samples(chunks: list[bytes]) -> np.ndarray:
    """What was queued from the first position given after ``chunks`` started (up to the next reset)."""
    run = []
    for chunk in chunks:
        if chunk == b"" and run:
            break
        run.append(chunk)
    return np.frombuffer(b"".join(run), np.int16).reshape(-1, 2)


@pytest.fixture
def with_audio(qtbot, window, tmp_path):
    clip = write_click_clip(tmp_path / "click.mkv")
    wait_open(qtbot, window, clip)
    qtbot.waitUntil(lambda: window.audio.pcm is not None, timeout=20000)
    window.audio.close()
    window.audio.output = RecordingOutput()
    return window


def test_playing_starts_at_the_playhead_and_stops_with_k(qtbot, with_audio):
    w, s = with_audio, with_audio.session
    assert w.timeline.waveform is not None and w.timeline.waveform[:, 1].max() > 0.5
    s.seek(24)
    settle(qtbot, 120)  # past the scrub snippet of the seek
    out = w.audio.output
    qtbot.waitUntil(w.isActiveWindow)
    out.chunks.clear()
    QTest.keyClick(w, Qt.Key.Key_L)
    # at least 50 ms of sound reaches the device (how soon depends on the machine's load: no time limit)
    qtbot.waitUntil(lambda: len(_samples(out.chunks)) >= RATE * 0.05, timeout=10000)
    played = _samples(out.chunks)
    assert np.abs(played[:480].astype(int)).max() > 10000  # frame 24 is where the click is
    QTest.keyClick(w, Qt.Key.Key_K)
    settle(qtbot, 30)
    assert not w.audio._timer.isActive()


def test_scrubbing_plays_the_audio_under_each_frame_and_mute_silences(qtbot, with_audio):
    w, s = with_audio, with_audio.session
    out = w.audio.output
    out.chunks.clear()
    s.seek(23)  # 1/24 s before the click
    settle(qtbot, 20)
    snippet = _samples(out.chunks)
    assert 0.07 * RATE <= len(snippet) <= 0.09 * RATE
    loud = np.flatnonzero(np.abs(snippet[:, 0].astype(int)) > 10000)
    assert abs(loud[0] - RATE / 24) < RATE * 0.003
    s.seek(5)
    settle(qtbot, 100)
    QTest.keyClick(w, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert w.audio.muted and w.settings.get("view/muted") is True
    out.chunks.clear()
    s.seek(24)
    QTest.keyClick(w, Qt.Key.Key_L)
    settle(qtbot, 60)
    QTest.keyClick(w, Qt.Key.Key_K)
    assert not any(out.chunks)


def test_the_waveform_lane_shows_the_click(qtbot, with_audio):
    w = with_audio
    settle(qtbot, 50)
    lane = w.timeline._lanes()["audio"]
    shot = w.timeline.grab().toImage()

    def green_rows(frame: int) -> int:
        x = int(w.timeline.frame_to_x(frame)) + 1  # the first ms of the frame
        rows = range(int(lane.top()), int(lane.bottom()))
        return sum(1 for y in rows if shot.pixelColor(x, y).green() > 150 > shot.pixelColor(x, y).red())

    assert green_rows(24) > lane.height() * 0.6  # the click at 1 s fills the lane
    assert green_rows(8) <= 2  # silence: a flat line
