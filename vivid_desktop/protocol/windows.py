"""KIVE windows: how a propagation splits a frame range into model passes (DESIGN.md §1).

Pure stdlib, so the GUI draws the same windows on the timeline that the runtime renders, and
``vivid edit --dry-run`` prints them (:func:`plan_json`).

Rules (the vivid engine, the timeline and the CLI all follow them):

- A window is ``length`` frames (49 by default), always ``8k+1``: the CogVideoX VAE keeps latent frame 0
  apart only when the latent count is odd (diffusers ``CogVideoXUpsample3D``); an even count would decode
  to doubled frames, misaligned with the source. So ``4k+1`` lengths with odd ``k`` are refused.
- Every user keyframe inside ``[start, stop)`` starts a forward window whose known frame 0 (mask zero) is
  the edited keyframe. Keyframes outside the range are ignored.
- Frames before the first keyframe are propagated **backward** from it: the segment reversed in time,
  the keyframe as known frame 0 (:attr:`Window.direction` ``"backward"``, :meth:`Window.model_frames`).
  A keyframe at ``stop`` itself counts when none is inside the range (a farm part that ends on a
  keyframe); its backward windows then read frame ``stop`` as their known frame but never write it.
- Inside a segment windows chain with ``stride`` (48): frame 0 of window *i* is the last output frame of
  window *i−1* (in the window's direction), given as known content. A range without keyframes starts
  with a window that has no known frame.
- A window shorter than ``length`` (a segment's tail) runs at the shortest ``8k+1`` model length that
  holds it, padded by repeating its last model frame; the padded outputs are dropped.
- Every frame of ``[start, stop)`` is *written* by exactly one window (:attr:`Window.writes`), and the
  list is in execution order: a window's known frame is written by an earlier window (or is a keyframe).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

__all__ = ["Window", "check_length", "model_length", "plan_json", "plan_windows"]


def check_length(length: int) -> int:
    """``length`` if it is a valid window length (``8k+1``), else ``ValueError`` saying why."""
    if length < 1 or length % 8 != 1:
        raise ValueError(
            f"window length must be 8k+1 (1, 9, 17, 25, 33, 41, 49, …), got {length}: the CogVideoX VAE "
            "decodes an even number of latent frames to doubled frames"
        )
    return length


def model_length(frames: int) -> int:
    """The shortest ``8k+1`` frame count that holds ``frames`` frames (``frames >= 1``)."""
    if frames < 1:
        raise ValueError(f"a window needs at least one frame, got {frames}")
    return 8 * ((frames - 1 + 7) // 8) + 1


@dataclass(frozen=True)
class Window:
    """One model pass over source frames ``[start, stop)``.

    ``known_frame`` is the frame given as known content at model frame 0, or ``None``: ``start`` for a
    forward window, ``stop − 1`` for a backward one. ``keyframe`` tells whether that known content is a
    user keyframe (else the previous window's output). ``write_stop`` is where the frames this window
    writes end in its direction (exclusive), when a later window recomputes an overlap (``stride <
    length − 1``); ``None`` = the window's far end.
    """

    start: int
    stop: int
    known_frame: int | None = None
    keyframe: bool = False
    write_stop: int | None = None
    direction: str = "forward"

    @property
    def frames(self) -> int:
        """Number of real source frames in the window."""
        return self.stop - self.start

    @property
    def model_length(self) -> int:
        """Frames the model runs on (``8k+1``), padding included."""
        return model_length(self.frames)

    @property
    def pad(self) -> int:
        """Frames appended (repeats of the last model frame) to reach :attr:`model_length`."""
        return self.model_length - self.frames

    def model_frames(self) -> list[int]:
        """Source frame numbers in model order (model frame ``j`` shows ``model_frames()[j]``)."""
        if self.direction == "backward":
            return list(range(self.stop - 1, self.start - 1, -1))
        return list(range(self.start, self.stop))

    @property
    def writes(self) -> range:
        """The frames this window writes to the render folder (each frame of a plan exactly once)."""
        if self.direction == "backward":  # the known frame (stop − 1) is never written here
            return range(self.start if self.write_stop is None else self.write_stop + 1, self.stop - 1)
        first = self.start + 1 if self.known_frame is not None and not self.keyframe else self.start
        return range(first, self.stop if self.write_stop is None else self.write_stop)

    def to_dict(self) -> dict[str, object]:
        """The dry-run / timeline form: ``start``, ``stop`` (exclusive), ``model_frames``, ``known``…"""
        return {
            "start": self.start,
            "stop": self.stop,
            "model_frames": self.model_length,
            "known": self.known_frame,
            "direction": self.direction,
            "keyframe": self.keyframe,
            "writes": [self.writes.start, self.writes.stop] if len(self.writes) else None,
        }


def plan_windows(
    start: int, stop: int, keyframes: list[int] | tuple[int, ...] = (), length: int = 49, stride: int = 48
) -> list[Window]:
    """Split ``[start, stop)`` into KIVE windows in execution order (rules: the module docstring)."""
    check_length(length)
    if not 1 <= stride <= length - 1 and length > 1:
        raise ValueError(f"stride must be in [1, {length - 1}], got {stride}")
    if stop < start:
        raise ValueError(f"empty range [{start}, {stop})")
    keys = sorted({k for k in keyframes if start <= k < stop})
    if length == 1:
        return [Window(f, f + 1, f if f in keys else None, f in keys) for f in range(start, stop)]
    windows: list[Window] = []
    # the first keyframe guides the frames before it; a keyframe right at ``stop`` does too (a part of a
    # render split at its keyframes carries the keyframe that ends it)
    first = keys[0] if keys else (stop if stop in keyframes and stop > start else None)
    if first is not None and first > start:
        windows.extend(_backward(start, first, length, stride))
    bounds = sorted({start if first is None else first, *keys, stop})
    for seg_start, seg_stop in itertools.pairwise(bounds):
        windows.extend(_segment(seg_start, seg_stop, seg_start in keys, length, stride))
    return windows


def _segment(a: int, b: int, starts_on_keyframe: bool, length: int, stride: int) -> list[Window]:
    """Chained forward windows over one segment ``[a, b)`` that holds no keyframe after ``a``."""
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


def _backward(a: int, key: int, length: int, stride: int) -> list[Window]:
    """Backward windows over ``[a, key)``: the forward plan of the mirrored segment, mirrored back."""
    mirrored = _segment(0, key - a + 1, True, length, stride)  # mirrored frame r = key − frame
    out: list[Window] = []
    for w in mirrored:
        ws = None if w.write_stop is None else key - w.write_stop
        out.append(Window(key - w.stop + 1, key - w.start + 1, key - w.start, w.keyframe, ws, "backward"))
    return out


def plan_json(
    start: int, stop: int, keyframes: list[int] | tuple[int, ...] = (), length: int = 49, stride: int = 48
) -> dict[str, object]:
    """The plan as ``vivid edit --dry-run`` prints it: windows in execution order plus totals."""
    windows = plan_windows(start, stop, keyframes, length, stride)
    return {
        "start": start,
        "stop": stop,
        "window_length": length,
        "window_stride": stride,
        "keyframes": sorted({k for k in keyframes if start <= k < stop}),
        "windows": [w.to_dict() for w in windows],
        "model_frames_total": sum(w.model_length for w in windows),
    }
