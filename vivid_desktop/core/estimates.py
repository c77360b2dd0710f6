"""Honest time estimates: speeds measured on this machine, per engine and resolution.

A :class:`SpeedBook` remembers frames per second for keys like ``"flow:1280x720"`` (``"track"`` is the
mask tracker): each finished run folds its measured speed in (an average that favours the newest
run). Without a measurement at that resolution, one at another resolution of the same engine is scaled
by the pixel count; without any, a first guess is used and the estimate says so. The book is a plain
dict so the application can keep it in its settings as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: first guesses (frames per second at 1280×720) until this machine has been measured; tracking's includes
#: its first run's optical flows (the fine preset: ≈ 0.4 s of CPU per frame pair at this size)
GUESS_FPS = {"flow": 4.0, "vivid": 0.3, "track": 3.0}
_REF_PIXELS = 1280 * 720
#: weight of a new measurement against what was remembered
NEW_WEIGHT = 0.6


def speed_key(engine: str, width: int, height: int) -> str:
    return f"{engine}:{width}x{height}"


@dataclass(frozen=True)
class Speed:
    fps: float
    measured: bool  # False: a first guess, not this machine's


class SpeedBook:
    """Measured speeds; ``entries`` is what the settings store."""

    def __init__(self, entries: dict[str, Any] | None = None) -> None:
        self.entries: dict[str, float] = {}
        for key, value in (entries or {}).items():
            try:
                if float(value) > 0:
                    self.entries[str(key)] = float(value)
            except (TypeError, ValueError):
                continue

    def record(self, engine: str, width: int, height: int, frames: int, seconds: float) -> None:
        """A run of ``frames`` frames took ``seconds`` (wall clock, start-up included)."""
        if frames <= 0 or seconds <= 0:
            return
        key = speed_key(engine, width, height)
        fps = frames / seconds
        old = self.entries.get(key)
        self.entries[key] = fps if old is None else NEW_WEIGHT * fps + (1 - NEW_WEIGHT) * old

    def speed(self, engine: str, width: int, height: int) -> Speed:
        exact = self.entries.get(speed_key(engine, width, height))
        if exact is not None:
            return Speed(exact, True)
        pixels = max(1, width * height)
        others = [
            (fps, int(w) * int(h))
            for key, fps in self.entries.items()
            if key.startswith(f"{engine}:") and (size := key.split(":", 1)[1].split("x")) and len(size) == 2
            for w, h in [size]
            if w.isdigit() and h.isdigit()
        ]
        if others:  # the nearest size measured, scaled by the pixel count (the work grows with it)
            fps, px = min(others, key=lambda o: abs(o[1] - pixels))
            return Speed(fps * px / pixels, True)
        return Speed(GUESS_FPS.get(engine, 1.0) * _REF_PIXELS / pixels, False)

    def seconds(self, engine: str, width: int, height: int, frames: int) -> tuple[float, bool]:
        """How long ``frames`` frames take, and whether that comes from a measurement."""
        speed = self.speed(engine, width, height)
        return frames / speed.fps, speed.measured


@dataclass(frozen=True)
class PlanEstimate:
    """What Propagate is about to do, for the confirmation and the Render panel."""

    engine: str
    frames: int
    windows: int
    track_frames: int  # 0: no tracking first
    track_seconds: float
    render_seconds: float
    measured: bool
    disk_bytes: int
    free_bytes: int | None

    @property
    def seconds(self) -> float:
        return self.track_seconds + self.render_seconds


def describe_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def describe_estimate(e: PlanEstimate) -> str:
    """One line: frames, windows, time (tracking included) and where the speed comes from."""
    windows = f", {e.windows} windows of up to 49 frames" if e.engine == "vivid" else ""
    parts = f"{e.frames} frames{windows}; about {describe_duration(e.seconds)} with the {e.engine} engine"
    if e.track_frames:
        parts += f" (tracking {describe_duration(e.track_seconds)} first)"
    basis = "measured on this machine" if e.measured else "a first guess until a run is measured here"
    return f"{parts}, {basis}"
