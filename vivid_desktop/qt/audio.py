"""The source's audio while playing (1× forwards) and a short snippet at each frame while scrubbing.

``QtAudioPlayer`` follows the session's playhead: at 1× it keeps about ``AHEAD_S`` of PCM queued in an
audio output, starting at the sample of the frame where playback began, and starts again from the
playhead when the two drift apart by more than two frames (a seek while playing, a slow start of the
device); stopped, each new frame (a step, a scrub, a jump) plays ``SNIPPET_S`` of the audio under it, at
most every ``SNIPPET_S``, as NLEs do. Other speeds (J, 2× L) are silent. The output is QtMultimedia's
``QAudioSink`` in push mode; a machine without an audio device plays nothing and says so once.
"""

from __future__ import annotations

import logging
import time
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QIODevice, QObject, QTimer, Signal

from vivid_desktop.media.audio import PCM

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QAudioSink

log = logging.getLogger(__name__)

AHEAD_S = 0.15
SNIPPET_S = 0.08
DRIFT_FRAMES = 2


class AudioOutput(Protocol):
    """Where PCM goes: 16-bit interleaved at the PCM's rate and channel count."""

    def open(self, rate: int, channels: int) -> bool: ...
    def write(self, data: bytes) -> int: ...
    def free(self) -> int: ...
    def queued_seconds(self) -> float: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...


class QtAudioOutput:
    """QtMultimedia's ``QAudioSink`` (push mode); ``open`` is False without QtMultimedia or a device."""

    def __init__(self) -> None:
        self._sink: QAudioSink | None = None
        self._device: QIODevice | None = None
        self._bytes_per_second = 1
        self.problem = ""

    def open(self, rate: int, channels: int) -> bool:
        self.close()
        try:
            from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices
        except ImportError as exc:  # PySide6-Addons missing
            self.problem = f"no QtMultimedia ({exc})"
            return False
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            self.problem = "no audio output device"
            return False
        fmt = QAudioFormat()
        fmt.setSampleRate(rate)
        fmt.setChannelCount(channels)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        sink = self._sink = QAudioSink(device, fmt)
        sink.setBufferSize(int(rate * channels * 2 * AHEAD_S * 2))
        self._device = sink.start()
        self._bytes_per_second = rate * channels * 2
        return self._device is not None

    def write(self, data: bytes) -> int:
        return int(self._device.write(data)) if self._device is not None else 0

    def free(self) -> int:
        return int(self._sink.bytesFree()) if self._sink is not None else 0

    def queued_seconds(self) -> float:
        if self._sink is None:
            return 0.0
        return (self._sink.bufferSize() - self._sink.bytesFree()) / self._bytes_per_second

    def reset(self) -> None:
        """Drop what is queued (a seek): restart the sink so old audio is not heard."""
        if self._sink is not None:
            self._sink.reset()
            self._device = self._sink.start()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.stop()
        self._sink = self._device = None


class QtAudioPlayer(QObject):
    """Plays the PCM under the playhead; see the module docstring."""

    problem = Signal(str)  # once: why nothing can be heard

    def __init__(self, output: AudioOutput | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.output: AudioOutput = output or QtAudioOutput()
        self.pcm: PCM | None = None
        self.rate = Fraction(24)
        self.muted = False
        self.speed = 0
        self.cursor = 0  # the next sample to queue
        self._open = False
        self._tried = False
        self._told = False
        self._last_snippet = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._feed)

    # ---- inputs ---------------------------------------------------------------------------------
    def set_audio(self, pcm: PCM | None, video_rate: Fraction) -> None:
        """The clip's audio (None: a clip without audio, or another clip opening)."""
        self._stop()
        self.output.close()
        self._open = self._tried = False
        self.pcm, self.rate = pcm, Fraction(video_rate)
        if pcm is not None:  # open the device now, not on the first press of Play (it takes a moment)
            QTimer.singleShot(0, self._ready)

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if muted:
            self._stop()

    def on_speed(self, speed: int, frame: int) -> None:
        """The transport's speed changed; playing starts at ``frame``."""
        self.speed = speed
        if speed == 1 and self._ready():
            self._start_at(frame)
        else:
            self._stop()

    def on_frame(self, frame: int) -> None:
        """The playhead moved: check the sync while playing, else a scrub snippet."""
        if self.pcm is None or self.muted:
            return
        if self.speed == 1 and self._timer.isActive():
            heard = self.cursor - self.output.queued_seconds() * self.pcm.rate
            if abs(heard - self.pcm.at(frame, self.rate)) > DRIFT_FRAMES * self.pcm.rate / float(self.rate):
                self._start_at(frame)
        elif self.speed == 0 and time.monotonic() - self._last_snippet >= SNIPPET_S and self._ready():
            self._last_snippet = time.monotonic()
            self.output.reset()
            start = self.pcm.at(frame, self.rate)
            self.output.write(self.pcm.chunk(start, int(SNIPPET_S * self.pcm.rate)))

    # ---- playing --------------------------------------------------------------------------------
    def _ready(self) -> bool:
        if self.pcm is None or self.muted:
            return False
        if not self._open and not self._tried:  # once per clip: a missing device stays missing
            self._tried = True
            self._open = self.output.open(self.pcm.rate, self.pcm.channels)
            if not self._open and not self._told:
                self._told = True
                problem = getattr(self.output, "problem", "") or "the audio output did not open"
                log.info("no audio playback: %s", problem)
                self.problem.emit(f"No sound: {problem}.")
        return self._open

    def _start_at(self, frame: int) -> None:
        assert self.pcm is not None
        self.output.reset()
        self.cursor = self.pcm.at(frame, self.rate)
        self._feed()
        self._timer.start()

    def _feed(self) -> None:
        pcm = self.pcm
        if pcm is None:
            return
        want = int(AHEAD_S * pcm.rate) - int(self.output.queued_seconds() * pcm.rate)
        room = self.output.free() // pcm.frame_bytes
        count = min(want, room)
        if count > 0 and self.cursor < len(pcm.data):
            written = self.output.write(pcm.chunk(self.cursor, count))
            self.cursor += written // pcm.frame_bytes

    def _stop(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.output.reset()

    def close(self) -> None:
        self._stop()
        self.output.close()
        self._open = self._tried = False
