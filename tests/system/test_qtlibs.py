"""Qt's xcb plugin checked with the plugin itself: the real one here, and missing libraries through a
fake ``ldd`` (the output format of glibc's ldd), up to the one line ``vivid-desktop`` prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vivid_desktop.system import qtlibs
from vivid_desktop.system.distro import Distro

LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffc8a5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f0b1c000000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb1.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f0b1b9d0000)
\tlibxcb-icccm.so.4 => not found
"""


def fake_ldd(folder: Path, output: str) -> Path:
    """An ``ldd`` that prints ``output`` whatever it is asked."""
    folder.mkdir(exist_ok=True)
    (folder / "ldd.out").write_text(output)
    ldd = folder / "ldd"
    ldd.write_text(f"#!/bin/sh\ncat '{folder / 'ldd.out'}'\n")
    ldd.chmod(0o755)
    return ldd


def test_missing_from_ldd_output():
    assert qtlibs.missing_from_ldd(LDD_MISSING) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert qtlibs.missing_from_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_the_installed_plugin_is_found_and_checked():
    plugin = qtlibs.find_xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so" and "PySide6" in plugin.parts
    check = qtlibs.check_xcb(plugin)
    assert check.error is None
    assert all(".so" in lib for lib in check.missing)  # whatever this machine lacks, named by soname


def test_a_plugin_with_missing_libraries(tmp_path):
    ldd = fake_ldd(tmp_path / "bin", LDD_MISSING)
    check = qtlibs.check_xcb(tmp_path / "libqxcb.so", ldd=str(ldd))
    assert not check.ok and check.missing[:2] == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    line = qtlibs.missing_libs_line(check.missing[:2], Distro("Debian", "apt"))
    assert line == (
        "Qt's X11 plugin needs system libraries that are missing (libxcb-icccm.so.4, libxcb-keysyms.so.1); "
        "install them with: sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1"
    )
    assert "install their packages" in qtlibs.missing_libs_line(["libxcb-icccm.so.4"], Distro("?", None))


def test_libraries_qt_opens_at_run_time_are_tried(tmp_path, monkeypatch):
    """ldd cannot see libxcb-cursor (Qt dlopens it): each such library is loaded on trial."""
    ldd = fake_ldd(tmp_path / "bin", "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n")
    monkeypatch.setattr(qtlibs, "DLOPENED", ("libc.so.6", "libvivid-absent-cursor.so.0"))
    check = qtlibs.check_xcb(tmp_path / "libqxcb.so", ldd=str(ldd))
    assert check.missing == ["libvivid-absent-cursor.so.0"]


def test_no_ldd_is_reported_not_guessed(tmp_path):
    check = qtlibs.check_xcb(tmp_path / "libqxcb.so", ldd=str(tmp_path / "no-ldd"))
    assert check.error and "cannot run" in check.error and not check.ok


@pytest.mark.parametrize(
    ("env", "platform"),
    [
        ({"QT_QPA_PLATFORM": "offscreen"}, "offscreen"),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "wayland"),
        ({"QT_QPA_PLATFORM": "xcb:nomitshm"}, "xcb"),
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, "wayland"),
        ({"DISPLAY": ":0"}, "xcb"),
    ],
)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's choice on Linux")
def test_platform_in_use(env, platform):
    assert qtlibs.platform_in_use(env) == platform


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_gui_problem_only_where_xcb_is_used():
    assert qtlibs.gui_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    no_display = qtlibs.gui_problem({})
    assert no_display and "DISPLAY" in no_display and "QT_QPA_PLATFORM=offscreen" in no_display


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_vivid_desktop_says_what_to_install_instead_of_aborting(tmp_path):
    """Qt would abort the process; the start-up check prints one line and exits 1 before Qt runs."""
    ldd = fake_ldd(tmp_path / "bin", LDD_MISSING)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(PATH=f"{ldd.parent}{os.pathsep}{env['PATH']}", DISPLAY=":99")
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from vivid_desktop.qt.app import main; sys.exit(main([]))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vivid-desktop: cannot open its window: Qt's X11 plugin")
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in lines[0]


LDD_NO_PULSE = """\
\tlibQt6Core.so.6 => /venv/PySide6/Qt/lib/libQt6Core.so.6 (0x00007f0b1c000000)
\tlibpulse.so.0 => not found
"""


def test_audio_without_pulseaudio_names_the_package(tmp_path):
    """PySide6's wheel does not carry PulseAudio's client library: the check names it and the fix."""
    ldd = fake_ldd(tmp_path / "bin", LDD_NO_PULSE)
    libs = [tmp_path / "libQt6Multimedia.so.6", tmp_path / "libffmpegmediaplugin.so"]
    check = qtlibs.check_audio(libs, ldd=str(ldd))
    assert not check.ok and check.missing == ["libpulse.so.0"]  # named once for both libraries
    line = qtlibs.audio_libs_line(check.missing, Distro("Debian", "apt"))
    assert line.endswith("install with: sudo apt-get install -y libpulse0") and line.startswith("no sound")
    assert qtlibs.audio_libs_line(check.missing, Distro("Fedora", "dnf")).endswith("pulseaudio-libs")
    assert qtlibs.audio_libs_line(check.missing, Distro("Arch", "pacman")).endswith("libpulse")


def test_audio_check_without_qtmultimedia_or_ldd(tmp_path):
    assert qtlibs.check_audio([]).error == "QtMultimedia (PySide6-Addons) is not installed"
    check = qtlibs.check_audio([tmp_path / "libQt6Multimedia.so.6"], ldd=str(tmp_path / "no-ldd"))
    assert check.error and "cannot run" in check.error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")
def test_the_installed_multimedia_libraries_are_found_and_checked():
    libs = qtlibs.find_multimedia_libs()
    assert any(lib.name == "libQt6Multimedia.so.6" for lib in libs)
    check = qtlibs.check_audio(libs)
    assert check.error is None and all(".so" in lib for lib in check.missing)
