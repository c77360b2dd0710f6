"""How long a remote runtime keeps what editors left on it: uploads, render folders and caches unused for
``--keep-days`` days are removed, at start and then every hour.

"Unused" is read from each entry's modification time, which the store refreshes whenever a job or a
client uses the entry (:meth:`ServerFiles.touch`): a render folder gets newer with every frame written,
an upload with every job that reads it. Partial uploads older than the limit are abandoned ones. Entries
are removed one by one, each only after its own age was checked; a folder is renamed aside first, so a
client never sees half of one.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from model_runtime.server.uploads import ServerFiles

_log = logging.getLogger(__name__)

#: How often a serving runtime looks for entries past the limit.
PRUNE_EVERY_S = 3600.0


@dataclass
class Pruned:
    removed: list[str] = field(default_factory=list)  # "renders/<key>", "uploads/blobs/<sha>", …
    freed_bytes: int = 0


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def prune(files: ServerFiles, keep_s: float, now: float | None = None) -> Pruned:
    """Remove every entry of ``files`` not used for more than ``keep_s`` seconds."""
    now = time.time() if now is None else now
    out = Pruned()
    for root in (files.blobs, files.partial, files.folders, files.renders, files.cache):
        for entry in sorted(root.iterdir()):
            try:
                if now - entry.lstat().st_mtime <= keep_s:
                    continue
                size = _size(entry)
                _remove(entry)
            except OSError as exc:  # in use or vanished meanwhile: the next round tries again
                _log.warning("could not remove %s: %s", entry, exc)
                continue
            out.removed.append(entry.relative_to(files.data).as_posix())
            out.freed_bytes += size
    return out


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        aside = entry.with_name(f".{entry.name}.removing-{uuid.uuid4().hex[:8]}")
        entry.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        entry.unlink()


def keep_pruning(files: ServerFiles, keep_days: float, stop: threading.Event) -> threading.Thread | None:
    """Prune now and every hour until ``stop`` is set (a daemon thread); None when ``keep_days`` is 0."""
    if keep_days <= 0:
        return None

    def loop() -> None:
        while not stop.is_set():
            done = prune(files, keep_days * 86400)
            if done.removed:
                _log.info(
                    "removed %d unused entries (%.1f MB) older than %g days",
                    len(done.removed),
                    done.freed_bytes / 1e6,
                    keep_days,
                )
            stop.wait(PRUNE_EVERY_S)

    thread = threading.Thread(target=loop, name="vivid-retention", daemon=True)
    thread.start()
    return thread
