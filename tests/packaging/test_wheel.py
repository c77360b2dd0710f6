"""A real package: the wheel carries resources/ and the entry points, users' dependencies are right, and
(opt-in, ``-m slow``) it installs into a clean venv with the lock and opens the demo."""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock-linux.txt"
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "resources",
    "vivid_desktop",
    "model_runtime",
)


def build_wheel(out: Path) -> Path:
    """The wheel, built from a copy of the sources (the checkout gets no build/ folder)."""
    src = out / "src"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(out),
        str(src),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("vivid_desktop-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_resources_and_no_tests(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        n.removeprefix("vivid_desktop/resources/") for n in names if n.startswith("vivid_desktop/resources/")
    }
    in_repo = {
        p.relative_to(ROOT / "resources").as_posix() for p in (ROOT / "resources").rglob("*") if p.is_file()
    }
    assert shipped == in_repo and "style/dark.qss" in shipped
    assert {"vivid_desktop/__init__.py", "model_runtime/server/__main__.py"} <= names
    assert not any(n.startswith(("tests/", "benchmarks/", "installers/")) for n in names)


def test_the_wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = email.message_from_bytes(z.read("vivid_desktop-0.1.0.dist-info/METADATA"))
        entry_points = z.read("vivid_desktop-0.1.0.dist-info/entry_points.txt").decode()
    requires = meta.get_all("Requires-Dist")
    assert any(r.startswith("psutil") and "extra" not in r for r in requires)  # a runtime dependency
    assert not any(r.startswith(("pytest", "ruff")) and 'extra == "dev"' not in r for r in requires)
    assert {"gui", "model", "otio", "dev"} <= set(meta.get_all("Provides-Extra"))
    for script in ("vivid = vivid_desktop.cli.main:main", "vivid-desktop = vivid_desktop.qt.app:main"):
        assert script in entry_points


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_wheel_installs_in_a_clean_venv_with_the_lock_and_opens_the_demo(wheel, tmp_path):
    """What a user does: a fresh venv (no system site-packages), the wheel with [gui,model] at the lock's
    versions, then the editor with the demo, offscreen, away from the checkout."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    py = env_dir / "bin" / "python"
    torch = next(line for line in LOCK.read_text().splitlines() if line.startswith("torch=="))
    index = os.environ.get("VIVID_TORCH_INDEX", "https://download.pytorch.org/whl")  # as the installer
    cpu_torch = [f"{torch}+cpu", *(["--extra-index-url", f"{index}/cpu"] if index != "none" else [])]
    pip = [str(py), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *cpu_torch], check=True, timeout=1200)
    subprocess.run([*pip, "-c", str(LOCK), f"{wheel}[gui,model]"], check=True, timeout=1200)
    subprocess.run([str(py), "-m", "pip", "check"], check=True, timeout=120)
    listed = subprocess.run([str(py), "-m", "pip", "list"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^vivid-desktop\s+0\.1\.0$", listed, re.MULTILINE), listed

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    report = tmp_path / "startup.json"
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        VIVID_DESKTOP_STARTUP_REPORT=str(report),
    )
    where = subprocess.run(
        [str(py), "-c", "from vivid_desktop.system.resources import resources_dir; print(resources_dir())"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(env_dir)  # the wheel's copy, not the checkout's
    desktop = env_dir / "bin" / "vivid-desktop"
    proc = subprocess.run(
        [str(desktop), "--demo", "--no-runtime", "--quit-after", "5"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(report.read_text())["torch_imported"] is False
    assert any((home / ".local/share/vivid-desktop/demo").rglob("*.mp4")), "the demo clip was not made"
    doctor = subprocess.run(
        [str(env_dir / "bin" / "vivid"), "doctor", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = {f["topic"]: f for f in json.loads(doctor.stdout)}
    assert found["engine flow"]["found"] == "ready (CPU)" and found["torch"]["found"].startswith(torch[7:])
