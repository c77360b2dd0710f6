"""The private ``vivid-rt-*`` folders of editors that were killed, removed at the next start.

Each runtime launch makes a private folder in the temp directory (socket, log) and removes it when the
runtime stops; a killed editor cannot. The launcher writes its process id into ``owner`` in the folder,
and the next launch removes every such folder of this user whose owner process is gone. A folder without
an owner file (an older version) is removed once it is an hour old and its socket no longer answers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

PREFIX = "vivid-rt-"
OWNER_FILE = "owner"
_UNOWNED_AGE_S = 3600.0


def claim(workdir: Path) -> None:
    """Record this process as the owner of ``workdir``."""
    (workdir / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else (EPERM): not ours to judge
        return True
    return True


def _socket_answers(folder: Path) -> bool:
    sockets = [p for p in folder.iterdir() if p.is_socket()] if hasattr(socket, "AF_UNIX") else []
    for path in sockets:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            try:
                s.connect(str(path))
                return True
            except OSError:
                continue
    return False


def _abandoned(folder: Path) -> bool:
    st = folder.lstat()
    if not folder.is_dir() or folder.is_symlink() or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return False
    owner = folder / OWNER_FILE
    if owner.is_file():
        text = owner.read_text(encoding="ascii", errors="replace").strip()
        return text.isdigit() and not _alive(int(text))
    return time.time() - st.st_mtime > _UNOWNED_AGE_S and not _socket_answers(folder)


def remove_abandoned(tmpdir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the ``vivid-rt-*`` folders in ``tmpdir`` (default: the temp directory) whose owner is
    gone; returns what was removed."""
    root = Path(tmpdir or tempfile.gettempdir())
    removed = []
    for folder in root.glob(PREFIX + "*"):
        with contextlib.suppress(OSError):
            if _abandoned(folder):
                shutil.rmtree(folder)
                removed.append(folder)
    return removed
