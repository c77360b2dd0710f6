"""Crash recovery of the app: a marker file says which project was open and by which process.

The project itself is autosaved within seconds of every change (``core.autosave``), so after a crash
nothing but the last few seconds is lost; what the marker adds is *noticing* the crash: on the next
launch, a marker whose process is gone means the app did not close properly, and the editor offers to
reopen that project.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from vivid_desktop.core.files import write_atomic
from vivid_desktop.qt.settings import data_dir


class SessionMarker:
    """``mark_open`` when a project opens, ``mark_closed`` on a clean close, ``crashed_project`` at start."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "open-session.json"

    def mark_open(self, project_folder: Path) -> None:
        doc = {"project": str(project_folder), "pid": os.getpid()}
        write_atomic(self.path, json.dumps(doc).encode(), durable=False)

    def mark_closed(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    def crashed_project(self) -> Path | None:
        """The project a previous run left open without closing (its process is gone), or None."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            pid, project = int(doc["pid"]), Path(doc["project"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if pid == os.getpid() or _alive(pid):
            return None  # this run, or another instance that has it open right now
        return project if (project / "project.json").is_file() else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # no signal 0 on Windows
        try:
            import psutil
        except ImportError:
            return False
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
