"""The user's Linux distribution and the command that installs shared libraries on it.

Package names are looked up by the library's soname (``libxcb-icccm.so.4``) in tables for the four
package managers most Linux users have (apt, dnf, pacman, zypper); the family comes from
``/etc/os-release`` (``ID`` and ``ID_LIKE``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

#: ``ID``/``ID_LIKE`` words → package manager.
FAMILIES = {
    "debian": "apt",
    "ubuntu": "apt",
    "fedora": "dnf",
    "rhel": "dnf",
    "centos": "dnf",
    "arch": "pacman",
    "suse": "zypper",
    "opensuse": "zypper",
}

INSTALL = {
    "apt": "sudo apt-get install -y",
    "dnf": "sudo dnf install -y",
    "pacman": "sudo pacman -S --needed",
    "zypper": "sudo zypper install -y",
}

# soname stem → package, where the name does not follow the family's rule (see _by_rule).
_FEDORA = {
    "libxcb-cursor": "xcb-util-cursor",
    "libxcb-icccm": "xcb-util-wm",
    "libxcb-ewmh": "xcb-util-wm",
    "libxcb-keysyms": "xcb-util-keysyms",
    "libxcb-image": "xcb-util-image",
    "libxcb-render-util": "xcb-util-renderutil",
    "libxcb-util": "xcb-util",
    "libX11-xcb": "libX11-xcb",
    "libX11": "libX11",
    "libxkbcommon-x11": "libxkbcommon-x11",
    "libxkbcommon": "libxkbcommon",
    "libfontconfig": "fontconfig",
    "libfreetype": "freetype",
    "libEGL": "libglvnd-egl",
    "libGL": "libglvnd-glx",
    "libOpenGL": "libglvnd-opengl",
    "libdbus-1": "dbus-libs",
    "libglib-2.0": "glib2",
    "libSM": "libSM",
    "libICE": "libICE",
    "libpulse": "pulseaudio-libs",
}
_ARCH = {
    **{k: v for k, v in _FEDORA.items() if v.startswith("xcb-util")},
    "libX11-xcb": "libx11",
    "libX11": "libx11",
    "libxkbcommon-x11": "libxkbcommon-x11",
    "libxkbcommon": "libxkbcommon",
    "libfontconfig": "fontconfig",
    "libfreetype": "freetype2",
    "libEGL": "libglvnd",
    "libGL": "libglvnd",
    "libOpenGL": "libglvnd",
    "libdbus-1": "dbus",
    "libglib-2.0": "glib2",
    "libSM": "libsm",
    "libICE": "libice",
    "libpulse": "libpulse",
}
_DEBIAN = {"libglib-2.0": "libglib2.0-0"}
_SUSE = {"libglib-2.0": "libglib-2_0-0"}


@dataclass(frozen=True)
class Distro:
    """What ``/etc/os-release`` says, reduced to what an install command needs."""

    name: str
    family: str | None  # "apt", "dnf", "pacman", "zypper"; None when unknown

    def packages(self, sonames: list[str]) -> list[str]:
        """The packages that provide ``sonames``, in order, without repeats."""
        out: list[str] = []
        for soname in sonames:
            pkg = package_for(soname, self.family)
            if pkg not in out:
                out.append(pkg)
        return out

    def install_command(self, sonames: list[str]) -> str | None:
        """``sudo apt-get install -y libxcb-cursor0 …``; None for an unknown family."""
        if self.family is None or not sonames:
            return None
        return f"{INSTALL[self.family]} {shlex.join(self.packages(sonames))}"


def detect(os_release: Path = Path("/etc/os-release")) -> Distro:
    """The distribution this process runs on (family None when the file is missing or unknown)."""
    try:
        fields = parse_os_release(os_release.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return Distro(name="unknown", family=None)
    words = [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]
    family = next((FAMILIES[w] for w in (_word(w) for w in words) if w in FAMILIES), None)
    return Distro(name=fields.get("PRETTY_NAME") or fields.get("ID") or "unknown", family=family)


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines, quotes removed (the format of os-release(5))."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            fields[key] = shlex.split(value)[0] if value.strip() else ""
    return fields


def _word(word: str) -> str:
    # "opensuse-tumbleweed", "opensuse-leap", "sles" all install with zypper
    word = word.lower()
    if word.startswith("opensuse") or word in ("sles", "sled"):
        return "suse"
    return word


def package_for(soname: str, family: str | None) -> str:
    """The package that provides ``soname`` (the soname itself for an unknown family)."""
    stem, version = _split(soname)
    if family == "apt":
        return _DEBIAN.get(stem) or _by_rule(stem, version).lower()
    if family == "zypper":
        return _SUSE.get(stem) or _by_rule(stem, version)
    if family == "dnf":
        return _FEDORA.get(stem) or ("libxcb" if stem.startswith("libxcb") else stem)
    if family == "pacman":
        return _ARCH.get(stem) or ("libxcb" if stem.startswith("libxcb") else stem.lower())
    return soname


def _split(soname: str) -> tuple[str, str]:
    match = re.fullmatch(r"(.+?)\.so(?:\.(\d+))?(?:\.[\d.]+)?", soname)
    return (match.group(1), match.group(2) or "") if match else (soname, "")


def _by_rule(stem: str, version: str) -> str:
    """Debian's and SUSE's rule: the soname's stem plus its major version, with a dash when the stem
    ends in a digit (``libxcb-icccm.so.4`` → ``libxcb-icccm4``, ``libX11.so.6`` → ``libX11-6``)."""
    return f"{stem}-{version}" if stem[-1:].isdigit() else f"{stem}{version}"
