"""Hand-off to an NLE: the project as an OpenTimelineIO timeline (``.otio``, FCP 7 ``.xml``, ``.edl``).

``export_timeline(store, "shot.otio")`` writes, beside the timeline, a folder ``shot.media/`` with the
edited frames of the range as one movie (ProRes 422 HQ by default, carrying the source's timecode and
audio) and one matte movie per enabled edit (source + mask as alpha, ProRes 4444), then the timeline:

- track "Edited": one clip over the range; its media references are ``edited`` (the movie above, active)
  and ``original`` (the source clip), both in the source's own time (start timecode + frame number), so an
  NLE can switch between them in place;
- one track per edit's matte, aligned frame for frame;
- track "Audio": the source's sound over the same range.

Time is exact: OTIO stores a rate as a double, which holds 30000/1001 exactly enough that reading it back
and taking the nearest fraction with a small denominator gives 30000/1001 again; the exact rate is also in
the timeline's metadata (``vivid.rate``). FCP 7 XML and EDL go through OpenTimelineIO's own adapters when
they are installed (``otio-fcp-adapter``, ``otio-cmx3600-adapter``); an EDL carries the edited track only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from vivid_desktop.core.timebase import frames_to_timecode, timecode_to_frames
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.export import export_masks
from vivid_desktop.media.export_project import edit_masks, export_project, export_range
from vivid_desktop.media.reader import FrameReader

if TYPE_CHECKING:
    from vivid_desktop.core.store import ProjectStore

#: timeline suffix → (OpenTimelineIO adapter, the package that provides it)
ADAPTERS = {
    ".otio": ("otio_json", "opentimelineio"),
    ".xml": ("fcp_xml", "otio-fcp-adapter"),
    ".edl": ("cmx_3600", "otio-cmx3600-adapter"),
}
#: media formats the edited frames can be handed over in (names of media.export_formats.FORMATS)
MEDIA_FORMATS = ("prores", "h264", "ffv1")

Progress = Callable[[int, int | None], None]


def source_timecode(path: str | Path) -> str | None:
    """The start timecode a clip carries (MOV/MP4 timecode track, MXF, stream or file tag), or None."""
    try:
        with av.open(str(path)) as container:
            for stream in container.streams:
                if "timecode" in stream.metadata:
                    return str(stream.metadata["timecode"])
            value = container.metadata.get("timecode")
            return None if value is None else str(value)
    except (av.FFmpegError, OSError):
        return None


def export_timeline(
    store: ProjectStore,
    out: str | Path,
    *,
    start: int | None = None,
    stop: int | None = None,
    media_format: str = "prores",
    quality: str = "standard",
    mattes: bool = True,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Write the timeline ``out`` and its media folder (see the module text); return ``out``."""
    otio = _otio()
    out = Path(out)
    adapter = _adapter(otio, out)
    if media_format not in MEDIA_FORMATS:
        raise MediaError(f"unknown media format {media_format!r}; choose one of: {', '.join(MEDIA_FORMATS)}")
    if store.source_missing():
        raise MediaError(f"the source clip {store.project.source.path} is missing; relink it to export")
    start, stop = export_range(store, start, stop)
    source = store.project.source
    rate = Fraction(source.rate)
    tc0, drop = _start_timecode(source.path, rate)
    media = out.parent / f"{out.stem}.media"
    edits = [e for e in store.project.edits if e.enabled] if mattes else []
    planned = [media / f"{out.stem}-edited{_suffix(media_format)}"]
    planned += [media / f"{out.stem}-matte-{i}.mov" for i in range(1, len(edits) + 1)]
    made_folder = not media.exists()
    existed = {path for path in planned if path.exists()}
    media.mkdir(exist_ok=True)
    try:
        job = _Job(store, planned, edits, start, stop, media_format, quality, progress, cancel)
        timeline = _build(otio, store, rate, tc0, start, stop, *_movies(job, tc0, rate, drop))
        _write_timeline(otio, adapter, timeline, out)
    except BaseException:
        _remove_new(media, planned, existed, made_folder)
        raise
    return out


@dataclass
class _Job:
    store: ProjectStore
    planned: list[Path]  # the edited movie, then one matte per edit
    edits: list
    start: int
    stop: int
    media_format: str
    quality: str
    progress: Progress | None
    cancel: Callable[[], bool] | None


def _movies(job: _Job, tc0: int, rate: Fraction, drop: bool) -> tuple[Path, list[tuple[str, Path]]]:
    """Export the edited movie and the mattes; return the movie and the (name, matte) pairs."""
    steps = _Steps(job.progress, (job.stop - job.start) * (1 + len(job.edits)))
    edited = export_project(
        job.store,
        job.planned[0],
        start=job.start,
        stop=job.stop,
        format=job.media_format,
        quality=job.quality,
        progress=steps.part(0),
        cancel=job.cancel,
        timecode=frames_to_timecode(tc0 + job.start, rate, drop_frame=drop),
    )
    mattes = []
    for i, edit in enumerate(job.edits, start=1):
        mattes.append((edit.name or f"Edit {i}", _export_matte(job, edit.id, i, steps.part(i))))
    return edited, mattes


def _write_timeline(otio: Any, adapter: str, timeline: Any, out: Path) -> None:
    tracks = timeline.tracks
    if adapter == "cmx_3600":  # an EDL holds one picture track
        for track in list(tracks)[1:]:
            tracks.remove(track)
    try:
        otio.adapters.write_to_file(timeline, str(out), adapter_name=adapter)
    except Exception as exc:  # an adapter's own refusal (e.g. an EDL limit): say which file failed
        raise MediaError(f"could not write the timeline {out.name}: {exc}") from exc


def _remove_new(media: Path, planned: list[Path], existed: set[Path], made_folder: bool) -> None:
    """After a failed or cancelled export: remove the movies this export made (a file that was there
    before is the previous export's, replaced only on success, so it stays) and the folder if it made it."""
    for path in planned:
        if path not in existed:
            path.unlink(missing_ok=True)
    if made_folder:
        with contextlib.suppress(OSError):  # not empty: something else was put there meanwhile
            media.rmdir()


def _export_matte(job: _Job, edit_id: str, i: int, progress: Progress | None) -> Path:
    source = job.store.project.source
    with FrameReader(source.path, cache_bytes=0) as reader:
        return export_masks(
            edit_masks(job.store, edit_id, job.start, job.stop),
            job.planned[i],
            kind="matte",
            frames=reader.iter_frames(job.start, job.stop),
            rate=Fraction(source.rate),
            format="prores",
            total=job.stop - job.start,
            progress=progress,
            cancel=job.cancel,
        )


def _build(otio, store, rate, tc0, start, stop, edited: Path, mattes) -> Any:
    source = store.project.source
    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    fps = float(rate)
    shot = tr(rt(tc0 + start, fps), rt(stop - start, fps))
    whole = tr(rt(tc0, fps), rt(source.frame_count, fps))
    original = otio.schema.ExternalReference(
        target_url=Path(source.path).resolve().as_uri(), available_range=whole
    )
    timeline = otio.schema.Timeline(name=store.folder.stem, global_start_time=rt(tc0 + start, fps))
    timeline.metadata["vivid"] = {"rate": f"{rate.numerator}/{rate.denominator}", "range": [start, stop]}
    picture = otio.schema.Track(name="Edited", kind=otio.schema.TrackKind.Video)
    clip = otio.schema.Clip(name=Path(source.path).stem, source_range=shot)
    clip.set_media_references(
        {
            "edited": otio.schema.ExternalReference(
                target_url=edited.resolve().as_uri(), available_range=shot
            ),
            "original": original,
        },
        "edited",
    )
    picture.append(clip)
    timeline.tracks.append(picture)
    for name, path in mattes:
        track = otio.schema.Track(name=f"Matte: {name}", kind=otio.schema.TrackKind.Video)
        ref = otio.schema.ExternalReference(target_url=path.resolve().as_uri(), available_range=shot)
        track.append(otio.schema.Clip(name=f"{name} matte", media_reference=ref, source_range=shot))
        timeline.tracks.append(track)
    sound = otio.schema.Track(name="Audio", kind=otio.schema.TrackKind.Audio)
    sound.append(otio.schema.Clip(name=clip.name, media_reference=original.clone(), source_range=shot))
    timeline.tracks.append(sound)
    return timeline


def _start_timecode(path: str, rate: Fraction) -> tuple[int, bool]:
    """The source's start timecode as a frame count (0 when it has none or an unreadable one), and
    whether it is labelled drop-frame (``;``), so the edited media keeps the source's convention."""
    text = source_timecode(path)
    if text is None:
        return 0, False
    drop = ";" in text
    try:
        return timecode_to_frames(text, rate, drop_frame=drop), drop
    except ValueError:
        return 0, False


def _otio() -> Any:
    try:
        import opentimelineio
    except ImportError:
        raise MediaError("timeline export needs OpenTimelineIO: pip install 'vivid-desktop[otio]'") from None
    return opentimelineio


def _adapter(otio: Any, out: Path) -> str:
    known = ADAPTERS.get(out.suffix.lower())
    if known is None:
        raise MediaError(
            f"cannot tell the timeline format from {out.name!r}: use .otio, .xml (FCP 7) or .edl"
        )
    name, package = known
    if name not in otio.adapters.available_adapter_names():
        raise MediaError(f"writing {out.suffix} needs OpenTimelineIO's adapter: pip install {package}")
    if not out.parent.is_dir():
        raise MediaError(f"the folder {out.parent} does not exist")
    return name


def _suffix(media_format: str) -> str:
    return {"prores": ".mov", "h264": ".mp4", "ffv1": ".mkv"}[media_format]


class _Steps:
    """One progress callback over several exports: part ``i`` counts frames after the parts before it."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total = progress, total
        self.offsets: dict[int, int] = {}

    def part(self, i: int) -> Progress | None:
        if self.progress is None:
            return None
        report = self.progress

        def update(done: int, _total: int | None) -> None:
            self.offsets[i] = done
            report(sum(self.offsets.values()), self.total)

        return update
