"""Export frames to a video file or a PNG sequence, with the source's audio, timing and frame count kept.

Usage::

    export_video(frames, "out.mp4", rate=Fraction(30000, 1001), audio_source="clip.mov",
                 audio_start=Fraction(in_frame) / rate, total=n, progress=cb, cancel=flag.is_set)
    export_folder("renders/", "out.mov", rate=Fraction(25))         # a folder of 000000.png …
    export_masks(masks, "mask.mkv", kind="mask", rate=rate)          # grey, lossless
    export_masks(masks, "matte.mov", kind="matte", frames=frames, rate=rate)   # ProRes 4444 with alpha

Formats (:mod:`vivid_desktop.media.export_formats`): ``h264``, ``h265`` (MP4), ``prores`` (MOV), ``ffv1``
(MKV, lossless) and ``png`` (a folder); the output path's extension picks one unless ``format`` is given.

The output appears at its final name only when it is complete: it is written under a hidden ``.partial``
name in the same folder and renamed at the end; a failure or a cancel deletes it. A crash mid-export may
leave the ``.partial`` file behind, never a truncated file at the final name.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sized
from fractions import Fraction
from pathlib import Path

import numpy as np

from vivid_desktop.media.errors import MediaCancelled, MediaError
from vivid_desktop.media.export_formats import (
    FORMATS,
    QUALITY_PRESETS,
    ExportFormat,
    encoder_options,
    infer_format,
)
from vivid_desktop.media.export_writers import ContainerWriter, FrameWriter, PngWriter, channels_of, read_png
from vivid_desktop.render_folder import frame_name

__all__ = [
    "FORMATS",
    "QUALITY_PRESETS",
    "ExportCancelled",
    "export_folder",
    "export_masks",
    "export_video",
    "infer_format",
]

Progress = Callable[[int, "int | None"], None]
_FRAME_FILE = re.compile(r"\d{6,}\.png")


class ExportCancelled(MediaCancelled, MediaError):
    """The export was cancelled and nothing was left behind (a ``MediaCancelled``, and a ``MediaError`` for
    callers that treat any unfinished export alike)."""


def export_video(
    frames: Iterable[np.ndarray],
    out: str | Path,
    *,
    rate: Fraction | int | str,
    format: str | None = None,
    audio_source: str | Path | None = None,
    audio_start: Fraction = Fraction(0),
    total: int | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    quality: str = "standard",
    options: dict[str, str] | None = None,
    timecode: str | None = None,
) -> Path:
    """Encode ``frames`` (uint8 RGB, grey or RGBA, one size) to ``out`` and return its path.

    ``rate`` is exact (a Fraction); frame *i* gets timestamp *i / rate*. ``audio_source``'s audio is
    carried over from ``audio_start`` seconds after its first video frame, cut to the video's length
    (PNG sequences carry no audio). ``progress(done, total)`` is called after each frame; when ``cancel()``
    returns true the export stops, deletes its output and raises :class:`ExportCancelled`. ``quality`` is a
    preset (``draft``, ``standard``, ``high``); ``options`` override single encoder options (e.g.
    ``{"crf": "14"}``); ``timecode`` ("HH:MM:SS:FF") is the first frame's timecode (containers only).
    Raises :class:`MediaError` with a readable message on any failure.
    """
    rate = _exact_rate(rate)
    fmt = infer_format(out, format)
    encoder_options(fmt, quality, 3)  # reject an unknown preset before any work
    final = Path(out)
    if total is None and isinstance(frames, Sized):
        total = len(frames)
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise MediaError("nothing to export: there are no frames")
    with _staged(final, fmt) as temp:
        writer = _open_writer(
            temp, fmt, first.shape, rate, quality, options, audio_source, audio_start, timecode
        )
        try:
            _pump(_chain(first, it), writer, total, progress, cancel)
            writer.close()
        except BaseException:
            writer.abort()
            raise
    return final


def export_folder(folder: str | Path, out: str | Path, *, rate: Fraction | int | str, **kwargs) -> Path:
    """Export a folder of numbered lossless frames (``000000.png`` …, no gaps) like :func:`export_video`."""
    files = frame_files(folder)
    kwargs.setdefault("total", len(files))
    return export_video((read_png(p) for p in files), out, rate=rate, **kwargs)


def export_masks(
    masks: Iterable[np.ndarray],
    out: str | Path,
    *,
    kind: str = "mask",
    frames: Iterable[np.ndarray] | None = None,
    rate: Fraction | int | str,
    **kwargs,
) -> Path:
    """Export a mask sequence (``kind="mask"``: grey, 255 = edited region) or a matte (``kind="matte"``:
    each source frame with its mask as alpha: a PNG RGBA sequence, ProRes 4444 MOV or FFV1 MKV).
    """
    if isinstance(masks, Sized):
        kwargs.setdefault("total", len(masks))
    if kind == "mask":
        return export_video((_mask_plane(m) for m in masks), out, rate=rate, **kwargs)
    if kind != "matte":
        raise MediaError(f"unknown mask export kind {kind!r}; choose 'mask' or 'matte'")
    if frames is None:
        raise MediaError("a matte needs the source frames to put the mask on")
    return export_video(_mattes(frames, masks), out, rate=rate, **kwargs)


def frame_files(folder: str | Path) -> list[Path]:
    """The numbered frame files of ``folder`` in order; a missing number or an empty folder is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MediaError(f"{folder} is not a folder of frames")
    files = sorted((p for p in folder.iterdir() if _FRAME_FILE.fullmatch(p.name)), key=lambda p: int(p.stem))
    if not files:
        raise MediaError(f"{folder} holds no frame files named like 000000.png")
    first = int(files[0].stem)
    for i, path in enumerate(files):
        if int(path.stem) != first + i:
            raise MediaError(f"frame {frame_name(first + i)} is missing from {folder}")
    return files


def _exact_rate(rate: Fraction | int | str) -> Fraction:
    if isinstance(rate, float):
        raise MediaError(
            "give the frame rate exactly, as a Fraction (e.g. Fraction(30000, 1001)), not a float"
        )
    try:
        value = Fraction(rate)
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise MediaError(f"{rate!r} is not a frame rate") from exc
    if value <= 0:
        raise MediaError(f"a frame rate must be positive, not {rate}")
    return value


def _open_writer(
    temp: Path,
    fmt: ExportFormat,
    shape: tuple[int, ...],
    rate: Fraction,
    quality: str,
    options: dict[str, str] | None,
    audio_source: str | Path | None,
    audio_start: Fraction,
    timecode: str | None = None,
) -> FrameWriter:
    if len(shape) not in (2, 3) or channels_of(shape) not in (1, 3, 4) or min(shape[:2]) < 1:
        raise MediaError(f"frames of shape {shape} cannot be exported (expected H×W, H×W×3 or H×W×4)")
    if fmt.is_sequence:
        return PngWriter(temp, shape, int(encoder_options(fmt, quality, 3)["compression"]))
    try:
        return ContainerWriter(
            temp, fmt, shape, rate, quality, options, audio_source, Fraction(audio_start), timecode
        )
    except MediaError:
        raise
    except Exception as exc:  # FFmpeg refuses a setting: say which export failed, not where
        raise MediaError(f"cannot start the {fmt.label} export: {exc}") from exc


def _pump(
    frames: Iterator[np.ndarray],
    writer: FrameWriter,
    total: int | None,
    progress: Progress | None,
    cancel: Callable[[], bool] | None,
) -> None:
    for frame in frames:
        if cancel is not None and cancel():
            raise ExportCancelled("export cancelled")
        try:
            writer.write(frame)
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(f"encoding frame {writer.count} failed: {exc}") from exc
        if progress is not None:
            progress(writer.count, total)
    if cancel is not None and cancel():
        raise ExportCancelled("export cancelled")


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _mask_plane(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return mask.astype(np.uint8) * 255
    if mask.ndim == 3 and mask.shape[2] == 1:
        return mask[:, :, 0]
    return mask


def _mattes(frames: Iterable[np.ndarray], masks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    try:
        for frame, mask in zip(frames, masks, strict=True):
            plane = _mask_plane(mask)
            if plane.shape != frame.shape[:2]:
                raise MediaError(f"a mask of shape {plane.shape} does not fit a frame of shape {frame.shape}")
            yield np.dstack([frame[:, :, :3], plane])
    except ValueError as exc:
        raise MediaError("the masks and the frames are not the same number") from exc


@contextlib.contextmanager
def _staged(final: Path, fmt: ExportFormat) -> Iterator[Path]:
    """A hidden temporary path beside ``final``; renamed onto it on success, deleted on any failure."""
    parent = final.parent
    if not parent.is_dir():
        raise MediaError(f"the folder {parent} does not exist")
    if fmt.is_sequence:
        _check_replaceable(final)
    temp = parent / f".{final.name}.{secrets.token_hex(4)}.partial"
    try:
        if fmt.is_sequence:
            temp.mkdir()
        yield temp
        if fmt.is_sequence:
            _swap_folder(temp, final)
        else:
            _fsync(temp)
            os.replace(temp, final)
            _fsync_dir(parent)
    except BaseException:
        _remove(temp)
        raise


def _check_replaceable(folder: Path) -> None:
    """An existing output folder may be replaced only if it is empty or holds just frame files."""
    if folder.exists() and not folder.is_dir():
        raise MediaError(f"{folder} is a file; a PNG sequence needs a folder")
    if folder.is_dir() and any(not _FRAME_FILE.fullmatch(p.name) for p in folder.iterdir()):
        raise MediaError(f"{folder} holds other files; choose an empty or new folder for the PNG sequence")


def _swap_folder(temp: Path, final: Path) -> None:
    _check_replaceable(final)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.{secrets.token_hex(4)}.old")
        os.replace(final, old)
    os.replace(temp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":  # directories cannot be opened for fsync on Windows
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
