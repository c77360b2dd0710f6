"""Durable file writing, PNG I/O and content fingerprints (no media decoding).

Usage::

    write_atomic(path, b"...")              # temp name in the same folder, fsync, os.replace, fsync folder
    write_png(path, mask)                   # (H, W) grey or (H, W, 3) RGB uint8, atomically
    read_png(path)                          # grey → (H, W), colour → (H, W, 3) RGB
    fingerprint(path)                       # "v1:<size>:<hash>": reads ≤ ~2.6 MB whatever the file size

A reader never sees a half-written file at the final name: either the old content or the new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

import cv2
import numpy as np

#: bytes hashed at the start, at the end, and at each of the evenly spaced samples in between
_HEAD = 1 << 20
_SAMPLE = 64 << 10
_SAMPLES = 8


class FileError(OSError):
    """A file that could not be read or written; the message names it and says why."""


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask_once() -> int:
    mask = os.umask(0o022)  # read by setting it: done once, at import, before any thread writes
    os.umask(mask)
    return mask


_UMASK = _umask_once()


def _umask() -> int:
    """The process umask now (Linux says so in /proc without changing it; elsewhere: at import)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return _UMASK


def file_mode(path: Path) -> int:
    """The mode a rewrite of ``path`` gets: the file's own (without following a link), else the umask
    default of a new file (mkstemp's 0600 would hide a shared project's files from its group)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):  # a link is replaced by a file, not given its 0777
        return stat.S_IMODE(st.st_mode)
    return 0o666 & ~_umask()


def write_atomic(path: str | os.PathLike[str], data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old content or all of ``data``.

    The file keeps its previous mode (a new one gets the umask default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows; FAT has no modes
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def encode_png(image: np.ndarray, compression: int = 1) -> bytes:
    """(H, W) grey or (H, W, 3) RGB uint8 → PNG bytes (lossless; low compression for speed)."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"a PNG here is uint8 (H, W) or (H, W, 3), not {image.dtype} {image.shape}")
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise FileError(f"could not encode an image of shape {image.shape} as PNG")
    return buf.tobytes()


def write_png(path: str | os.PathLike[str], image: np.ndarray, durable: bool = True) -> None:
    """Write a grey mask or an RGB frame as PNG, atomically."""
    write_atomic(path, encode_png(image), durable=durable)


def read_png(path: str | os.PathLike[str], grey: bool | None = None) -> np.ndarray:
    """Read a PNG (or any image OpenCV reads): grey → (H, W), colour → (H, W, 3) RGB uint8.

    ``grey=True`` converts to one channel, ``grey=False`` to RGB, ``None`` keeps what the file holds.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise FileError(f"{path} is not an image that can be read")
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if grey:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    elif grey is False:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(img)


def fingerprint(path: str | os.PathLike[str]) -> str:
    """A content fingerprint: the size plus a hash of the head, the tail and evenly spaced samples.

    Fast for large files (reads ≤ ~2.6 MB); two different clips of the same size differ in the sampled
    bytes in practice (headers, timestamps, compressed data). The size is visible so a search can skip
    files of another size without reading them.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        h = hashlib.blake2b(digest_size=16)
        h.update(str(size).encode())
        with open(path, "rb") as f:
            if size <= 2 * _HEAD + _SAMPLES * _SAMPLE:
                h.update(f.read())
            else:
                h.update(f.read(_HEAD))
                step = (size - 2 * _HEAD) // (_SAMPLES + 1)
                for i in range(1, _SAMPLES + 1):
                    f.seek(_HEAD + i * step)
                    h.update(f.read(_SAMPLE))
                f.seek(size - _HEAD)
                h.update(f.read(_HEAD))
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return f"v1:{size}:{h.hexdigest()}"


def fingerprint_size(fp: str) -> int | None:
    """The file size recorded in a fingerprint (None for an unknown format)."""
    parts = fp.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "v1" and parts[1].isdigit() else None


def find_by_fingerprint(
    roots: list[Path], fp: str, name_hint: str = "", max_depth: int = 4, max_files: int = 50_000
) -> Path | None:
    """A file under ``roots`` whose fingerprint is ``fp`` (files named ``name_hint`` are tried first; only
    files of the recorded size are read). The walk is bounded so a search of a big folder cannot hang."""
    size = fingerprint_size(fp)
    seen = 0
    for root in roots:
        candidates: list[Path] = []
        for folder, dirs, files in os.walk(root):
            depth = len(Path(folder).relative_to(root).parts)
            if depth >= max_depth:
                dirs.clear()
            dirs[:] = [d for d in dirs if not d.startswith(".") and not d.endswith(".vivid")]
            for f in files:
                seen += 1
                p = Path(folder) / f
                with contextlib.suppress(OSError):
                    if size is None or p.stat().st_size == size:
                        candidates.append(p)
            if seen > max_files:
                break
        for p in sorted(candidates, key=lambda c: (c.name != name_hint, str(c))):
            with contextlib.suppress(OSError):
                if fingerprint(p) == fp:
                    return p
    return None
