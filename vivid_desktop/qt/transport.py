"""Playback and NLE transport keys (J/K/L, Space, arrows, Home/End), plus the transport bar.

``Transport`` is a controller: it computes where the playhead should be while playing (from a
monotonic clock, so playback keeps real time and drops frames rather than drifting when decoding is
slow) and asks the session to seek. It keeps no domain state.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from vivid_desktop.core.timebase import TimecodeError, frames_to_timecode, parse_position
from vivid_desktop.qt.style import icon

SPEEDS = (1, 2, 4, 8)


class Transport(QObject):
    """Play state: ``speed`` is 0 when stopped, ±1/±2/±4/±8 while playing (negative = backwards)."""

    speedChanged = Signal(int)
    seekRequested = Signal(int)

    def __init__(self, position: Callable[[], int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._position = position
        self.frame_count = 0
        self.rate = Fraction(24)
        self.speed = 0
        self.loop_range: tuple[int, int] | None = None
        self._clock = QElapsedTimer()
        self._start_frame = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def set_clip(self, frame_count: int, rate: Fraction) -> None:
        self.stop()
        self.frame_count = frame_count
        self.rate = Fraction(rate)

    # ---- intents --------------------------------------------------------------------------------
    def play_pause(self) -> None:
        """Space: play forwards at normal speed, or stop."""
        self._set_speed(0 if self.speed else 1)

    def stop(self) -> None:
        """K."""
        self._set_speed(0)

    def forward(self) -> None:
        """L: play forwards; again for 2×, 4×, 8×. While playing backwards it first slows down."""
        self._set_speed(self._faster(+1))

    def backward(self) -> None:
        """J: play backwards; again for 2×, 4×, 8×."""
        self._set_speed(self._faster(-1))

    def _faster(self, direction: int) -> int:
        if self.speed * direction > 0:
            i = SPEEDS.index(abs(self.speed))
            return direction * SPEEDS[min(i + 1, len(SPEEDS) - 1)]
        if self.speed * direction < 0 and abs(self.speed) > 1:
            return self.speed // 2  # slowing down towards the other direction, as NLEs do
        return direction

    def step(self, frames: int) -> None:
        """←/→ (one frame), Shift+←/→ (one second, see ``step_seconds``). Stops playback."""
        self.stop()
        self._seek(self._position() + frames)

    def step_seconds(self, seconds: int) -> None:
        self.step(round(seconds * self.rate))

    def go_start(self) -> None:
        self.stop()
        self._seek(self.loop_range[0] if self.loop_range and self._position() > self.loop_range[0] else 0)

    def go_to(self, frame: int) -> None:
        """Go to a typed position (clamped to the clip)."""
        self.stop()
        self._seek(frame)

    def go_end(self) -> None:
        self.stop()
        end = self.loop_range[1] - 1 if self.loop_range else self.frame_count - 1
        self._seek(end if self._position() < end else self.frame_count - 1)

    # ---- playback -------------------------------------------------------------------------------
    def _seek(self, frame: int) -> None:
        if self.frame_count:
            self.seekRequested.emit(max(0, min(self.frame_count - 1, int(frame))))

    def _set_speed(self, speed: int) -> None:
        if not self.frame_count:
            speed = 0
        if speed == self.speed:
            return
        self.speed = speed
        if speed:
            pos = self._position()
            # Play from the start when play is pressed on the last frame (and vice versa).
            if speed > 0 and pos >= self.frame_count - 1:
                pos = 0
                self._seek(0)
            elif speed < 0 and pos <= 0:
                pos = self.frame_count - 1
                self._seek(pos)
            self._start_frame = pos
            self._clock.start()
            interval = max(4, int(1000 / (float(self.rate) * abs(speed)) / 2))
            self._timer.start(interval)
        else:
            self._timer.stop()
        self.speedChanged.emit(speed)

    def _tick(self) -> None:
        elapsed = Fraction(self._clock.elapsed(), 1000)
        target = self._start_frame + int(elapsed * self.rate * self.speed)
        if (self.speed > 0 and target >= self.frame_count - 1) or (self.speed < 0 and target <= 0):
            self._seek(target)
            self._set_speed(0)
            return
        if target != self._position():
            self._seek(target)


class QtTimecodeField(QLineEdit):
    """Shows the playhead; type a frame, a timecode or ``+/-`` an offset and Enter to go there."""

    goTo = Signal(int)
    invalid = Signal(str)
    left = Signal()  # Enter or Esc: the keyboard goes back to the viewer

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("--:--:--:--", parent)
        self.setObjectName("timecode")
        self.setToolTip(
            "Go to: type a frame (120), a timecode (00:00:05:00, or 5:00) or +/- an offset, then Enter "
            "(Ctrl+G)"
        )
        self.rate = Fraction(24)
        self.frame = 0
        self._shown = ""
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("00:00:00:00   00000 / 00000  "))
        self.returnPressed.connect(self._go)

    def show_text(self, text: str) -> None:
        self._shown = text
        if not self.hasFocus():
            self.setText(text)

    def start_typing(self) -> None:
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.selectAll()

    def _go(self) -> None:
        try:
            frame = parse_position(self.text(), self.rate, self.frame)
        except TimecodeError as exc:
            self.invalid.emit(str(exc))
            self.selectAll()
            return
        self.goTo.emit(frame)
        self.left.emit()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.left.emit()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.setText(self._shown)


class QtTransportBar(QWidget):
    """Buttons and the timecode field under the viewer."""

    def __init__(self, transport: Transport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transportBar")
        self.transport = transport
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)
        self.timecode = QtTimecodeField(self)
        self.timecode.goTo.connect(transport.go_to)
        layout.addWidget(self.timecode)
        layout.addStretch(1)
        buttons = (
            ("go-start", "Go to start (Home)", transport.go_start),
            ("step-back", "Previous frame (←)", lambda: transport.step(-1)),
            ("play-back", "Play backwards (J)", transport.backward),
            ("play", "Play / pause (Space, K)", transport.play_pause),
            ("play-forward", "Play forwards, faster (L)", transport.forward),
            ("step-forward", "Next frame (→)", lambda: transport.step(1)),
            ("go-end", "Go to end (End)", transport.go_end),
        )
        self.buttons: dict[str, QToolButton] = {}
        for name, tip, slot in buttons:
            b = QToolButton(self)
            b.setIcon(icon(name))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            layout.addWidget(b)
            self.buttons[name] = b
        self.speed_label = QLabel("")
        self.speed_label.setMinimumWidth(36)
        layout.addWidget(self.speed_label)
        layout.addStretch(1)
        self.range_label = QLabel("")
        self.range_label.setObjectName("rangeLabel")
        layout.addWidget(self.range_label)
        transport.speedChanged.connect(self._on_speed)

    def _on_speed(self, speed: int) -> None:
        self.buttons["play"].setIcon(icon("pause" if speed else "play"))
        self.speed_label.setText("" if speed in (0, 1) else f"{speed:+d}×")

    def show_position(self, frame: int, frame_count: int, rate: Fraction) -> None:
        self.timecode.rate, self.timecode.frame = Fraction(rate), frame
        if frame_count <= 0:
            self.timecode.show_text("--:--:--:--")
            return
        self.timecode.show_text(f"{frames_to_timecode(frame, rate)}   {frame} / {frame_count - 1}")

    def show_range(self, in_frame: int, stop: int, frame_count: int, rate: Fraction) -> None:
        if frame_count <= 0 or (in_frame == 0 and stop >= frame_count):
            self.range_label.setText("")
            return
        a, b = frames_to_timecode(in_frame, rate), frames_to_timecode(stop - 1, rate)
        self.range_label.setText(f"In {a}  Out {b}  ({stop - in_frame} frames)")
