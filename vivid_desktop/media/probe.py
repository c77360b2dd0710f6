"""What a clip is: size, rotation, pixel format, exact rate, frame count, duration, audio streams.

``probe(path)`` reads the whole packet table once (no decoding; see :mod:`vivid_desktop.media.scan`) and
decodes the first frame, so the facts are the ones the reader will meet, not the container's guesses.
Rates, variable-rate detection and the constant-rate timeline follow :mod:`vivid_desktop.media.timing`.

Conventions: ``width``/``height`` are the *display* size, after the rotation a player applies;
``coded_width``/``coded_height`` are the stored (decoded) picture before rotation. ``rotation`` is in
clockwise degrees (what the old ``rotate`` tag said; a phone held upright films 1920×1080 with rotation
90). Non-square pixels are not resampled anywhere in the media layer: ``sample_aspect_ratio`` (of the
displayed picture) tells the viewer how wide a pixel is.
``frame_count`` and ``duration`` are those of the project timeline (equal to the source's for
constant-rate clips; ``source_frame_count`` counts the stored frames of a variable-rate clip).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from vivid_desktop.media import timing
from vivid_desktop.media.scan import Cancel, Progress, VideoScan, scan


def _frac(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class AudioInfo:
    """One audio stream: its index in the file, codec, sample rate, channel count, exact duration."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    duration: Fraction | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration"] = _frac(self.duration)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AudioInfo:
        dur = d.get("duration")
        return cls(d["index"], d["codec"], d["sample_rate"], d["channels"], Fraction(dur) if dur else None)


@dataclass(frozen=True)
class MediaInfo:
    """The facts of a clip's first video stream and its audio (conventions: module docstring)."""

    path: Path
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    sample_aspect_ratio: Fraction
    pix_fmt: str
    bit_depth: int
    rate: Fraction
    variable_rate: bool
    frame_count: int
    duration: Fraction
    video_codec: str
    audio: list[AudioInfo] = field(default_factory=list)
    #: timestamp of the first video frame, seconds (audio before it is not part of the timeline)
    start_time: Fraction = Fraction(0)
    #: frames stored in the file (differs from ``frame_count`` only for variable-rate clips)
    source_frame_count: int = 0
    container: str = ""

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: fractions as ``"num/den"`` strings (plus float ``fps`` and ``seconds`` for people)."""
        d = asdict(self)
        d["path"] = str(self.path)
        for key in ("sample_aspect_ratio", "rate", "duration", "start_time"):
            d[key] = _frac(getattr(self, key))
        d["audio"] = [a.to_dict() for a in self.audio]
        d["fps"] = round(float(self.rate), 6)
        d["seconds"] = round(float(self.duration), 6)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MediaInfo:
        """The inverse of :meth:`to_dict` (extra keys are ignored)."""
        names = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in names}
        kw["path"] = Path(d["path"])
        for key in ("sample_aspect_ratio", "rate", "duration", "start_time"):
            kw[key] = Fraction(d[key])
        kw["audio"] = [AudioInfo.from_dict(a) for a in d.get("audio", [])]
        return cls(**kw)


def probe(path: str | Path) -> MediaInfo:
    """The :class:`MediaInfo` of ``path``; :class:`MediaError` for anything that is not usable video."""
    return info_from_scan(scan(path))


def probe_with_scan(
    path: str | Path, progress: Progress | None = None, cancel: Cancel | None = None
) -> tuple[MediaInfo, VideoScan]:
    """:func:`probe` plus the raw scan (the frame index is built from both)."""
    s = scan(path, progress, cancel)
    return info_from_scan(s), s


def info_from_scan(s: VideoScan) -> MediaInfo:
    rate, variable = timing.detect_rate(s.pts, s.time_base, s.rate_candidates)
    if variable:
        frame_count = len(timing.timeline_map(s.pts, s.time_base, rate, s.end_pts))
    else:
        frame_count = len(s.pts)
    turned = s.rotation in (90, 270)
    return MediaInfo(
        path=s.path,
        width=s.height if turned else s.width,
        height=s.width if turned else s.height,
        coded_width=s.width,
        coded_height=s.height,
        rotation=s.rotation,
        sample_aspect_ratio=1 / s.sample_aspect_ratio if turned else s.sample_aspect_ratio,
        pix_fmt=s.pix_fmt,
        bit_depth=s.bit_depth,
        rate=rate,
        variable_rate=variable,
        frame_count=frame_count,
        duration=Fraction(frame_count) / rate,
        video_codec=s.codec,
        audio=[AudioInfo(a.index, a.codec, a.sample_rate, a.channels, a.duration) for a in s.audio],
        start_time=int(s.pts[0]) * s.time_base,
        source_frame_count=len(s.pts),
        container=s.format_name,
    )
