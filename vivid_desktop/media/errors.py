"""The media layer's errors: one type for every input an editor cannot use, one for a cancelled job.

FFmpeg reports problems as errno-style exceptions with terse texts ("Invalid data found when processing
input"). :func:`open_input` and :func:`explain` turn those into one sentence an editor understands, naming
the file, so the GUI and the command line can show it as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import av.container


class MediaError(Exception):
    """A file cannot be used as video: unreadable, truncated, audio-only, a still image, empty, unsupported.

    ``str(error)`` is a complete sentence for the user; ``path`` names the file when known.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class MediaCancelled(Exception):
    """A long media job (proxy, index, export) stopped because its ``cancel`` callable returned True.

    Whatever the job was writing has been removed; nothing half-written is left at the final name.
    """


def explain(exc: BaseException, path: str | Path) -> MediaError:
    """Turn an FFmpeg/OS exception about ``path`` into a :class:`MediaError` with a readable message."""
    name = Path(path).name
    if isinstance(exc, MediaError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return MediaError(f"{name}: file not found.", path)
    if isinstance(exc, IsADirectoryError):
        return MediaError(f"{name} is a folder, not a video file.", path)
    if isinstance(exc, PermissionError):
        return MediaError(f"{name}: permission denied (the file cannot be opened for reading).", path)
    if isinstance(exc, av.error.InvalidDataError):
        return MediaError(
            f"{name} is not a video file that can be read (its contents are not a known media format, "
            "or it is damaged).",
            path,
        )
    if isinstance(exc, EOFError):
        return MediaError(f"{name} ends unexpectedly: the file is empty or truncated.", path)
    if isinstance(exc, av.error.DecoderNotFoundError | av.error.DemuxerNotFoundError):
        return MediaError(f"{name} uses a format or codec this build of FFmpeg cannot decode.", path)
    if isinstance(exc, av.error.FFmpegError):
        reason = getattr(exc, "strerror", None) or str(exc)
        return MediaError(f"{name} could not be read: {reason}.", path)
    if isinstance(exc, OSError):
        return MediaError(f"{name} could not be read: {exc.strerror or exc}.", path)
    return MediaError(f"{name} could not be read: {exc}.", path)


def open_container(path: str | Path) -> av.container.InputContainer:
    """``av.open`` for reading, with every failure to open turned into a :class:`MediaError`."""
    path = Path(path)
    if not path.exists():
        if path.is_symlink():
            raise MediaError(f"{path.name} is a link that leads nowhere (a broken link or a loop).", path)
        raise MediaError(f"{path.name}: file not found.", path)
    if path.is_dir():
        raise MediaError(f"{path.name} is a folder, not a video file.", path)
    if path.stat().st_size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes).", path)
    try:
        return av.open(str(path), "r")
    except Exception as exc:  # FFmpeg raises errno-flavoured errors of many classes
        raise explain(exc, path) from exc


@contextmanager
def open_input(path: str | Path) -> Iterator[av.container.InputContainer]:
    """:func:`open_container` as a context manager that closes the container."""
    container = open_container(path)
    try:
        yield container
    finally:
        container.close()
