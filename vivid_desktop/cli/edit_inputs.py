"""Inputs of ``vivid edit``: masks (one PNG, a folder of PNGs, a mask video) and keyframe images,
checked and brought to the clip's size in the work folder, so the runtime gets exactly what it expects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vivid_desktop.protocol.errors import JobError
from vivid_desktop.render_folder import MaskFolder, frame_files, frame_path, write_frame

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

Warn = Callable[[str], None]


class EditError(Exception):
    """A problem with the inputs of ``vivid edit``, worded for the user."""


@dataclass
class MaskInput:
    """Masks ready for the runtime: ``single`` (one file for every frame) or ``folder`` of per-frame files."""

    single: Path | None = None
    folder: Path | None = None

    def for_frame(self, frame: int) -> Path:
        """The mask file of ``frame`` (a folder: that frame's file, else the nearest one)."""
        if self.single is not None:
            return self.single
        assert self.folder is not None
        try:
            return MaskFolder(self.folder).path(frame)
        except JobError as exc:
            raise EditError(exc.message) from None


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write a mask or keyframe image for the runtime, atomically (the render folder's rule)."""
    try:
        return write_frame(path, image)
    except JobError as exc:
        raise EditError(exc.message) from None


def to_grey(image: np.ndarray) -> np.ndarray:
    """A mask image as uint8 grey: the alpha channel when it carries one, else the brightness."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4 and image[:, :, 3].min() < 255:
        return np.ascontiguousarray(image[:, :, 3])
    if image.ndim == 3:
        return cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
    return image.astype(np.uint8)


def fit(image: np.ndarray, size: tuple[int, int], what: str, warn: Warn, interpolation: int) -> np.ndarray:
    """``image`` at ``size`` = (width, height); scaled with a warning when it differs."""
    height, width = image.shape[:2]
    if (width, height) == size:
        return image
    warn(f"{what} is {width}x{height}, the clip is {size[0]}x{size[1]}: scaled to fit")
    return cv2.resize(image, size, interpolation=interpolation)


def read_mask_file(path: Path, size: tuple[int, int], warn: Warn) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise EditError(f"{path} is not an image")
    return fit(to_grey(image), size, f"mask {path.name}", warn, cv2.INTER_LINEAR)


def prepare_masks(mask: Path, work: Path, size: tuple[int, int], frames: range, warn: Warn) -> MaskInput:
    """Turn ``--mask`` into files of the clip's size under ``work``."""
    if mask.is_dir():
        return MaskInput(folder=_mask_folder(mask, work / "masks", size, frames, warn))
    if not mask.is_file():
        raise EditError(f"mask not found: {mask}")
    if mask.suffix.lower() in IMAGE_SUFFIXES:
        return MaskInput(single=write_png(work / "mask.png", read_mask_file(mask, size, warn)))
    return MaskInput(folder=_mask_video(mask, work / "masks", size, frames, warn))


def _mask_folder(folder: Path, out: Path, size: tuple[int, int], frames: range, warn: Warn) -> Path:
    files = frame_files(folder)
    if not files:
        raise EditError(f"{folder} holds no per-frame masks named like 000000.png")
    inside = {n: p for n, p in files.items() if n in frames}
    if not inside:  # keep the nearest one on each side: frames without a file use the nearest mask
        below = [n for n in files if n < frames.start]
        above = [n for n in files if n >= frames.stop]
        inside = {n: files[n] for n in ([max(below)] if below else []) + ([min(above)] if above else [])}
    warned: list[str] = []
    for n, path in sorted(inside.items()):
        mask = read_mask_file(path, size, lambda text: warned.append(text))
        write_png(frame_path(out, n), mask)
    if warned:
        warn(f"{len(warned)} masks in {folder.name} differ from the clip's size: scaled to fit")
    return out


def _mask_video(video: Path, out: Path, size: tuple[int, int], frames: range, warn: Warn) -> Path:
    """Decode a mask video (frame i ↔ clip frame i); lossy codecs leave noise, so it is thresholded at 128."""
    from vivid_desktop.media.errors import MediaError
    from vivid_desktop.media.reader import FrameReader

    try:
        with FrameReader(video) as reader:
            stop = min(frames.stop, reader.frame_count)
            if stop <= frames.start:
                raise EditError(
                    f"the mask video {video.name} has {reader.frame_count} frames; none in the range"
                )
            warned: list[str] = []
            for n, rgb in zip(range(frames.start, stop), reader.iter_frames(frames.start, stop), strict=True):
                grey = fit(
                    rgb.max(axis=2), size, f"the mask video {video.name}", warned.append, cv2.INTER_LINEAR
                )
                write_png(frame_path(out, n), np.where(grey >= 128, 255, 0).astype(np.uint8))
        if warned:
            warn(warned[0])
    except MediaError as exc:
        raise EditError(f"cannot read the mask video {video.name}: {exc}") from None
    return out


def parse_keyframe(text: str) -> tuple[int, Path]:
    """``"N=IMAGE"`` → ``(N, path)``."""
    number, sep, image = text.partition("=")
    if not sep or not number.strip().isdigit() or not image:
        raise EditError(f"--keyframe {text!r}: write it as N=IMAGE, e.g. 12=edited_12.png")
    return int(number), Path(image).expanduser().absolute()


def prepare_keyframe(frame: int, image: Path, work: Path, size: tuple[int, int], warn: Warn) -> Path:
    """The edited keyframe as an RGB PNG of the clip's size under ``work/keys``."""
    if not image.is_file():
        raise EditError(f"keyframe image not found: {image}")
    bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
    if bgr is None:
        raise EditError(f"{image} is not an image")
    rgb = fit(
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), size, f"keyframe image {image.name}", warn, cv2.INTER_AREA
    )
    return write_png(frame_path(work / "keys", frame), rgb)
