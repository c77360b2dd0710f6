"""Does Qt's X11 (xcb) platform plugin load here? Checked with the plugin itself, before Qt runs.

Qt aborts the whole process when no platform plugin loads, after printing a paragraph that does not say
which package to install. So the editor, ``vivid doctor`` and the installer ask first: ``ldd`` on the
plugin inside the installed PySide6 names every shared library that is missing, and a trial load finds
``libxcb-cursor.so.0``, which Qt opens at run time (``ldd`` cannot see it).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vivid_desktop.system.distro import Distro, detect

#: Libraries the xcb plugin opens with dlopen (Qt ≥ 6.5 refuses to start without xcb-cursor).
DLOPENED = ("libxcb-cursor.so.0",)

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


@dataclass
class XcbCheck:
    """The outcome: the plugin checked and the libraries it lacks (empty when it will load)."""

    plugin: Path | None
    missing: list[str] = field(default_factory=list)
    error: str | None = None  # the check itself could not run (no ldd, no PySide6)

    @property
    def ok(self) -> bool:
        return self.plugin is not None and not self.missing and self.error is None


def find_xcb_plugin() -> Path | None:
    """``libqxcb.so`` inside the installed PySide6 (found without importing PySide6)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for sub in ("Qt/plugins/platforms", "plugins/platforms"):
            plugin = Path(root, sub, "libqxcb.so")
            if plugin.is_file():
                return plugin
    return None


def missing_from_ldd(output: str) -> list[str]:
    """The sonames ``ldd`` reports as ``not found``, in order, without repeats."""
    return list(dict.fromkeys(_NOT_FOUND.findall(output)))


def check_xcb(plugin: Path | None = None, ldd: str = "ldd") -> XcbCheck:
    """Which shared libraries keep the xcb plugin from loading."""
    plugin = plugin or find_xcb_plugin()
    if plugin is None:
        return XcbCheck(None, error="PySide6 (the gui extra) is not installed")
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return XcbCheck(plugin, error=f"cannot run {ldd}: {exc}")
    missing = missing_from_ldd(done.stdout + done.stderr)
    missing += [lib for lib in DLOPENED if lib not in missing and not _loads(lib)]
    return XcbCheck(plugin, missing)


def find_multimedia_libs() -> list[Path]:
    """QtMultimedia's library and its FFmpeg media plugin inside the installed PySide6 (the audio)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    found = []
    for root in spec.submodule_search_locations:
        for sub in ("Qt/lib/libQt6Multimedia.so.6", "Qt/plugins/multimedia/libffmpegmediaplugin.so"):
            if Path(root, sub).is_file():
                found.append(Path(root, sub))
    return found


def check_audio(libs: list[Path] | None = None, ldd: str = "ldd") -> XcbCheck:
    """Which shared libraries keep QtMultimedia (audio playback) from loading: PulseAudio's client
    library on most Linux desktops (``libpulse.so.0``), which PySide6's wheel does not carry."""
    libs = find_multimedia_libs() if libs is None else libs
    if not libs:
        return XcbCheck(None, error="QtMultimedia (PySide6-Addons) is not installed")
    missing: list[str] = []
    for lib in libs:
        try:
            done = subprocess.run([ldd, str(lib)], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            return XcbCheck(lib, error=f"cannot run {ldd}: {exc}")
        missing += [name for name in missing_from_ldd(done.stdout + done.stderr) if name not in missing]
    return XcbCheck(libs[0], missing)


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def platform_in_use(env: Mapping[str, str] | None = None) -> str:
    """The platform plugin Qt will pick: QT_QPA_PLATFORM, or Qt's own choice on this system."""
    env = os.environ if env is None else env
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if sys.platform == "darwin":
        return "cocoa"
    if sys.platform == "win32":
        return "windows"
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def gui_problem(env: Mapping[str, str] | None = None, distro: Distro | None = None) -> str | None:
    """One line saying why the editor's window cannot open here and how to fix it, or None."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or platform_in_use(env) != "xcb":
        return None
    if not env.get("DISPLAY"):
        return (
            "no display to open a window on (DISPLAY is not set): run it in a desktop session, "
            "or with QT_QPA_PLATFORM=offscreen for a window nobody sees"
        )
    check = check_xcb()
    if check.ok or check.error:
        return None  # nothing known to be wrong: let Qt try (and speak for itself)
    return missing_libs_line(check.missing, distro or detect())


def missing_libs_line(missing: list[str], distro: Distro) -> str:
    """'Qt's X11 plugin needs …: install them with: sudo apt-get install -y …' (one line)."""
    libs = ", ".join(missing)
    command = distro.install_command(missing)
    if command is None:
        return f"Qt's X11 plugin needs system libraries that are missing: {libs} (install their packages)"
    return f"Qt's X11 plugin needs system libraries that are missing ({libs}); install them with: {command}"


def audio_libs_line(missing: list[str], distro: Distro) -> str:
    """'no sound: QtMultimedia needs …; install it with: sudo apt-get install -y libpulse0' (one line)."""
    libs = ", ".join(missing)
    command = distro.install_command(missing)
    fix = f"install with: {command}" if command else "install their packages"
    return f"no sound in the editor: QtMultimedia needs system libraries that are missing ({libs}); {fix}"
