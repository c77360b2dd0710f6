"""The per-user folders (platformdirs), one definition for the editor, the command line and the doctor.

``VIVID_DESKTOP_CONFIG`` and ``VIVID_DESKTOP_DATA`` move the folders (tests point them at a temporary
folder so a test never reads or writes the user's real settings).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP = "vivid-desktop"


def config_dir() -> Path:
    """Settings (``settings.ini``)."""
    return Path(os.environ.get("VIVID_DESKTOP_CONFIG") or platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """Per-user data: the demo clip, projects made for clips in read-only folders, recovery marker."""
    return Path(os.environ.get("VIVID_DESKTOP_DATA") or platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """Caches that can be rebuilt (proxies, flow fields)."""
    return Path(platformdirs.user_cache_dir(APP))


def user_folders() -> dict[str, Path]:
    return {"settings": config_dir(), "data": data_dir(), "cache": cache_dir()}


def writable(folder: Path) -> str | None:
    """None when files can be made in ``folder`` (created if needed), else the reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vivid-write-test-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
