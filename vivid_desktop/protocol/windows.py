"""KIVE windows: how a propagation splits a frame range into model passes (DESIGN.md §1).

Pure stdlib, so the GUI draws the same windows on the timeline that the runtime renders.

Rules (the vivid engine and the timeline both follow them):

- A window is ``length`` frames (49 by default; always ``4k+1`` for the CogVideoX VAE).
- Every user keyframe inside ``[start, stop)`` starts a window, and that keyframe is the window's known
  frame 0 (mask zero, content = the edited keyframe). Keyframes outside the range are ignored.
- Inside a segment (between two keyframes, or from ``start`` to the first keyframe), windows are chained
  with ``stride`` (48): frame 0 of window *i* is the last output frame of window *i−1*, given as known
  content.
  The first window of a range that does not start on a keyframe has no known frame.
- A window shorter than ``length`` (the tail of a segment) is run at the shortest ``4k+1`` model length
  that holds it: the pipeline pads it by repeating its last frame and drops the padded outputs
  (:attr:`Window.model_length`, :attr:`Window.pad`).
- Every frame of ``[start, stop)`` is *written* by exactly one window (:attr:`Window.writes`): a chained
  window does not write its known frame (the previous window did); a keyframe window writes its keyframe
  (the edited keyframe, composited onto the source).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

__all__ = ["Window", "model_length", "plan_windows"]


def model_length(frames: int) -> int:
    """The shortest ``4k+1`` frame count that holds ``frames`` frames (``frames >= 1``)."""
    if frames < 1:
        raise ValueError(f"a window needs at least one frame, got {frames}")
    return 4 * ((frames - 1 + 3) // 4) + 1


@dataclass(frozen=True)
class Window:
    """One model pass over source frames ``[start, stop)``.

    ``known_frame`` is the frame given as known content at window index 0 (``start``), or ``None``.
    ``keyframe`` tells whether that known content is a user keyframe (else the previous window's output).
    ``write_stop`` is where the frames this window writes end (``stop`` unless ``stride < length - 1``,
    where the later window recomputes the overlap from its own known frame).
    """

    start: int
    stop: int
    known_frame: int | None = None
    keyframe: bool = False
    write_stop: int | None = None

    @property
    def frames(self) -> int:
        """Number of real source frames in the window."""
        return self.stop - self.start

    @property
    def model_length(self) -> int:
        """Frames the model runs on (``4k+1``), padding included."""
        return model_length(self.frames)

    @property
    def pad(self) -> int:
        """Frames appended (repeats of the last frame) to reach :attr:`model_length`."""
        return self.model_length - self.frames

    @property
    def writes(self) -> range:
        """The frames this window writes to the render folder (each frame of a plan exactly once)."""
        first = self.start + 1 if self.known_frame is not None and not self.keyframe else self.start
        return range(first, self.stop if self.write_stop is None else self.write_stop)


def plan_windows(
    start: int, stop: int, keyframes: list[int] | tuple[int, ...] = (), length: int = 49, stride: int = 48
) -> list[Window]:
    """Split ``[start, stop)`` into KIVE windows (see the module docstring for the rules)."""
    if length < 1 or length % 4 != 1:
        raise ValueError(f"window length must be 4k+1, got {length}")
    if not 1 <= stride <= length - 1 and length > 1:
        raise ValueError(f"stride must be in [1, {length - 1}], got {stride}")
    if stop < start:
        raise ValueError(f"empty range [{start}, {stop})")
    if length == 1:
        return [Window(f, f + 1, f if f in keyframes else None, f in keyframes) for f in range(start, stop)]
    keys = sorted({k for k in keyframes if start <= k < stop})
    bounds = sorted({start, *keys, stop})
    windows: list[Window] = []
    for seg_start, seg_stop in itertools.pairwise(bounds):
        windows.extend(_segment(seg_start, seg_stop, seg_start in keys, length, stride))
    return windows


def _segment(a: int, b: int, starts_on_keyframe: bool, length: int, stride: int) -> list[Window]:
    """Chained windows over one segment ``[a, b)`` that holds no keyframe after ``a``."""
    out: list[Window] = []
    s = a
    known: int | None = a if starts_on_keyframe else None
    is_key = starts_on_keyframe
    while True:
        e = min(s + length, b)
        last = e >= b
        nxt = s + stride
        out.append(Window(s, e, known, is_key, None if last or nxt + 1 >= e else nxt + 1))
        if last:
            return out
        s, known, is_key = nxt, nxt, False
