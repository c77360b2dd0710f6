"""The source's audio on the timeline's clock (for playback and scrubbing) and its waveform."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vivid_desktop.media.audio import RATE, decode_audio, waveform
from vivid_desktop.media.probe import probe
from vivid_desktop.media.synth import write_click_clip, write_clip

FPS = 24


@pytest.fixture(scope="module")
def click_clip(tmp_path_factory) -> Path:
    return write_click_clip(tmp_path_factory.mktemp("audio") / "click.mkv")


def test_decoded_audio_is_on_the_video_clock(click_clip):
    info = probe(click_clip)
    pcm = decode_audio(click_clip, info.start_time)
    assert pcm is not None and pcm.rate == RATE and pcm.channels == 2
    assert abs(pcm.seconds - 2.0) < 0.05
    loud = np.flatnonzero(np.abs(pcm.data[:, 0].astype(int)) > 10000)
    assert abs(loud[0] - RATE) < RATE * 0.002  # the click is at 1.0 s, within 2 ms
    at = pcm.at(FPS, Fraction(FPS))  # frame 24 starts at 1.0 s
    assert at == RATE
    chunk = np.frombuffer(pcm.chunk(at, 480), np.int16).reshape(-1, 2)
    assert np.abs(chunk.astype(int)).max() > 10000  # the audio under frame 24 is the click
    tail = np.frombuffer(pcm.chunk(len(pcm.data) - 10, 100), np.int16)
    assert len(tail) == 200 and not tail[40:].any()  # silence past the end


def test_waveform_peaks(click_clip):
    pcm = decode_audio(click_clip)
    peaks = waveform(pcm, 200)
    assert peaks.shape == (200, 2)
    loud = np.flatnonzero(peaks[:, 1] > 0.5)
    assert list(loud) == [100] or list(loud) == [99, 100] or list(loud) == [100, 101]
    assert peaks[:90].max() < 0.01


def test_a_clip_without_audio_has_none(tmp_path):
    path = write_clip(tmp_path / "silent.mp4", [np.zeros((16, 16, 3), np.uint8)] * 4, rate=Fraction(24))
    assert decode_audio(path) is None
