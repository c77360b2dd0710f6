"""The install command for the user's distribution: os-release parsing and package names per family."""

from __future__ import annotations

import pytest

from vivid_desktop.system.distro import Distro, detect, package_for, parse_os_release

# What Qt 6's xcb plugin lacks on a minimal Debian (issue 10): found at run time, then by ldd.
XCB = ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


@pytest.mark.parametrize(
    ("os_release", "family"),
    [
        ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n', "apt"),
        ('ID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 24.04 LTS"\n', "apt"),
        ('ID=linuxmint\nID_LIKE="ubuntu debian"\n', "apt"),
        ("ID=fedora\nVERSION_ID=41\n", "dnf"),
        ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "dnf"),
        ("ID=arch\n", "pacman"),
        ("ID=manjaro\nID_LIKE=arch\n", "pacman"),
        ('ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n', "zypper"),
        ('ID="sles"\n', "zypper"),
        ("# comment\nID=nixos\n", None),
    ],
)
def test_family_from_os_release(tmp_path, os_release, family):
    path = tmp_path / "os-release"
    path.write_text(os_release)
    assert detect(path).family == family


def test_missing_os_release_is_an_unknown_family(tmp_path):
    assert detect(tmp_path / "absent") == Distro("unknown", None)


def test_parse_os_release_unquotes():
    fields = parse_os_release('NAME="Fedora Linux"\nID=fedora\nEMPTY=\nbroken line\n')
    assert fields == {"NAME": "Fedora Linux", "ID": "fedora", "EMPTY": ""}


@pytest.mark.parametrize(
    ("family", "command"),
    [
        ("apt", "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"),
        ("dnf", "sudo dnf install -y xcb-util-cursor xcb-util-wm xcb-util-keysyms"),
        ("pacman", "sudo pacman -S --needed xcb-util-cursor xcb-util-wm xcb-util-keysyms"),
        ("zypper", "sudo zypper install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"),
    ],
)
def test_install_command_for_the_xcb_libraries(family, command):
    assert Distro("x", family).install_command(XCB) == command


@pytest.mark.parametrize(
    ("soname", "apt", "dnf", "pacman", "zypper"),
    [
        (
            "libxkbcommon-x11.so.0",
            "libxkbcommon-x11-0",
            "libxkbcommon-x11",
            "libxkbcommon-x11",
            "libxkbcommon-x11-0",
        ),
        (
            "libxcb-render-util.so.0",
            "libxcb-render-util0",
            "xcb-util-renderutil",
            "xcb-util-renderutil",
            "libxcb-render-util0",
        ),
        ("libxcb-shape.so.0", "libxcb-shape0", "libxcb", "libxcb", "libxcb-shape0"),
        ("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb", "libx11", "libX11-xcb1"),
        ("libEGL.so.1", "libegl1", "libglvnd-egl", "libglvnd", "libEGL1"),
        ("libglib-2.0.so.0", "libglib2.0-0", "glib2", "glib2", "libglib-2_0-0"),
        ("libfontconfig.so.1.12.0", "libfontconfig1", "fontconfig", "fontconfig", "libfontconfig1"),
    ],
)
def test_package_names(soname, apt, dnf, pacman, zypper):
    got = [package_for(soname, f) for f in ("apt", "dnf", "pacman", "zypper")]
    assert got == [apt, dnf, pacman, zypper]


def test_one_package_for_several_libraries_and_unknown_families():
    arch = Distro("Arch", "pacman")
    assert arch.packages(["libxcb-shape.so.0", "libxcb-randr.so.0", "libxcb-xkb.so.1"]) == ["libxcb"]
    unknown = Distro("NixOS", None)
    assert unknown.install_command(XCB) is None and unknown.packages(XCB) == XCB
