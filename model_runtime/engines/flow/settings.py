"""The flow engine's job settings, read once from ``plan.settings`` / ``request.settings``.

All optional:

- ``cache_dir``: where flows are cached (default: ``.vivid-flow-cache`` beside the output).
- ``flow_preset`` (``ultrafast`` | ``fast`` | ``medium`` | ``fine``; default ``medium``, mask tracking
  jobs ``fine``) and ``flow_max_side`` (working resolution).
- ``dilate``: pixels by which masks grow before editing (delete: 3, add / modify: 0).
- ``window``, ``margin``: frames per deletion chunk and context frames on each side (default: the whole
  range when it fits in ``memory_mb`` (768), else as many as fit, with 24 frames of margin).
- ``context``: frames on each side that ``edit_keyframe`` looks at (default 10).
- ``feather``: ``edit_keyframe`` only (plans carry their own).
- ``seamless``: 1 (default) matches a deletion's fill to the frame around the hole; 0 pastes it.
- ``crop``: 1 (default) fills a deletion in a box around its holes when they cover a small part of
  the frame (faster); 0 always works on the whole frame.
- ``threads``: 2 (default) overlaps a deletion's stages on two threads (flow pairs while frames decode,
  the fill's two passes); 1 runs them one after the other. The result is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model_runtime.engines.base import EngineError
from model_runtime.engines.flow.cache import FlowCache, cache_key
from model_runtime.engines.flow.flow import ClipFlow, FlowSettings
from vivid_desktop.media.clip_frames import FrameSource
from vivid_desktop.protocol.errors import ErrorCode


def _whole(settings: dict[str, object], key: str, default: int) -> int:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        value = repr(value)
    try:
        number = int(value)
    except ValueError:
        raise EngineError(
            ErrorCode.BAD_SETTINGS, f"The setting {key!r} must be a whole number, not {value!r}."
        ) from None
    if number < 0:
        raise EngineError(ErrorCode.BAD_SETTINGS, f"The setting {key!r} cannot be negative ({number}).")
    return number


@dataclass(frozen=True)
class JobSettings:
    """Parsed settings of one job (see the module docstring)."""

    flow: FlowSettings
    cache_dir: Path
    dilate: int
    window: int
    margin: int
    memory_mb: int
    context: int
    feather: int
    seamless: bool = True
    crop: bool = True
    threads: int = 2

    @classmethod
    def parse(cls, settings: dict[str, object], task: str, output: Path) -> JobSettings:
        """``output``: the render folder or output file; the default cache sits beside it."""
        try:
            flow = FlowSettings.from_settings(settings)
        except ValueError as exc:
            raise EngineError(ErrorCode.BAD_SETTINGS, str(exc)) from None
        cache = settings.get("cache_dir") or output.parent / ".vivid-flow-cache"
        return cls(
            flow=flow,
            cache_dir=Path(str(cache)),
            dilate=_whole(settings, "dilate", 3 if task == "delete" else 0),
            window=_whole(settings, "window", 0),
            margin=_whole(settings, "margin", 24),
            memory_mb=max(16, _whole(settings, "memory_mb", 768)),
            context=_whole(settings, "context", 10),
            feather=_whole(settings, "feather", 3),
            seamless=_whole(settings, "seamless", 1) > 0,
            crop=_whole(settings, "crop", 1) > 0,
            threads=max(1, min(8, _whole(settings, "threads", 2))),
        )

    def flows(self, frames: FrameSource, source: str | Path) -> ClipFlow:
        """The clip's flows, cached in a folder keyed by the source file and the flow settings."""
        key = cache_key(source, self.flow.cache_parts(*frames.size))
        return ClipFlow(frames, self.flow, FlowCache(self.cache_dir / key), workers=self.threads)

    def chunks(self, size: tuple[int, int], count: int) -> tuple[int, int]:
        """(window, margin) for a deletion of ``count`` frames of ``size``."""
        per_frame = size[0] * size[1] * 8  # the frame, its masks and the fill's bookkeeping
        fits = max(8, self.memory_mb * (1 << 20) // per_frame)
        if self.window > 0:
            return self.window, self.margin
        if count <= fits:
            return count, 0
        margin = min(self.margin, fits // 4)
        return fits - 2 * margin, margin
