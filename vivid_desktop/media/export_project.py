"""Export a project: at each frame the rendered layers composed over the source, or the source frame.

Used by ``vivid export`` and by the GUI's export dialog (in a worker thread)::

    store = open_project("clip.vivid")
    export_project(store, "clip-edited.mp4", progress=cb, cancel=flag.is_set)       # in/out range
    export_project(store, "shot.mov", start=100, stop=200, format="prores")

Which rendered frames make a frame is the project's decision (``ProjectStore.final_layers``: per enabled
edit, bottom first, its newest render that has the frame); ``core.render_plan.compose_layers`` lays them
over the source frame. One layer is used as is (no source decode); the source frame is decoded only where
two or more layers meet. Source frames are decoded straight through, run by run, so an export of an
untouched stretch costs one sequential decode. The source's audio comes along from the range's in-point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vivid_desktop.core.render_plan import compose_layers
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.export import Progress, export_video
from vivid_desktop.media.export_writers import read_png
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.reader import FrameReader

if TYPE_CHECKING:
    from vivid_desktop.core.store import ProjectStore


def export_range(store: ProjectStore, start: int | None, stop: int | None) -> tuple[int, int]:
    """The frames ``[start, stop)`` to export: the project's in/out range unless given; checked."""
    source = store.project.source
    start = source.in_frame if start is None else start
    stop = source.stop if stop is None else stop
    if not 0 <= start < stop <= source.frame_count:
        raise MediaError(
            f"cannot export frames {start} to {stop - 1}: the clip has frames 0 to {source.frame_count - 1}"
        )
    return start, stop


def export_project(
    store: ProjectStore,
    out: str | Path,
    *,
    start: int | None = None,
    stop: int | None = None,
    format: str | None = None,
    quality: str = "standard",
    audio: bool = True,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    timecode: str | None = None,
) -> Path:
    """Export frames ``[start, stop)`` of the project (default: its in/out range) to ``out``;
    ``timecode`` is written as the first frame's timecode where the container has one."""
    source = store.project.source
    if store.source_missing():
        raise MediaError(f"the source clip {source.path} is missing; relink it to export", source.path)
    start, stop = export_range(store, start, stop)
    index = FrameIndex.open(source.path, folder=store.cache_dir("index"))
    with FrameReader(source.path, index=index, cache_bytes=0) as reader:
        return export_video(
            project_frames(store, reader, start, stop),
            out,
            rate=source.rate,
            format=format,
            quality=quality,
            audio_source=source.path if audio else None,
            audio_start=index.time_of(start),
            total=stop - start,
            progress=progress,
            cancel=cancel,
            timecode=timecode,
        )


def edit_masks(store: ProjectStore, edit_id: str | None, start: int, stop: int) -> Iterator[np.ndarray]:
    """The masks of frames ``[start, stop)`` of an edit (tracked, keyframe or blank), one per frame."""
    blank = store.blank_mask()
    for n in range(start, stop):
        mask = store.frame_mask(edit_id, n) if edit_id else None
        yield blank if mask is None else mask


def project_frames(store: ProjectStore, reader: FrameReader, start: int, stop: int) -> Iterator[np.ndarray]:
    """The final RGB frames ``start`` … ``stop - 1``: rendered layers composed over the source, else the
    source frame."""
    size = (store.project.source.height, store.project.source.width)
    n = start
    while n < stop:
        layers = store.final_layers(n)
        if layers:
            rendered = [_rendered(path, n, size) for path in layers]
            source = _checked(reader.read(n), size) if len(rendered) > 1 else None
            yield rendered[0] if source is None else compose_layers(source, rendered)
            n += 1
            continue
        run_end = n + 1
        while run_end < stop and not store.final_layers(run_end):
            run_end += 1
        for frame in reader.iter_frames(n, run_end):
            yield _checked(frame, size)
        n = run_end


def _checked(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frame.shape[:2] != size:
        raise MediaError(
            f"the source clip's frames are {frame.shape[1]}×{frame.shape[0]}, "
            f"not {size[1]}×{size[0]} as when the project was made"
        )
    return frame


def _rendered(path: Path, n: int, size: tuple[int, int]) -> np.ndarray:
    frame = read_png(path)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    frame = frame[:, :, :3]
    if frame.shape[:2] != size:
        raise MediaError(
            f"the rendered frame {n} ({path.name}) is {frame.shape[1]}×{frame.shape[0]}, "
            f"but the project is {size[1]}×{size[0]}"
        )
    return np.ascontiguousarray(frame)
