"""The installers: which torch build they choose, and that the lock and pyproject agree."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock-linux.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip()):
            pins[match.group(1).lower().replace("_", "-")] = Version(match.group(2))
    return pins


def torch_build(tmp_path: Path, smi: str | None, **env: str) -> subprocess.CompletedProcess:
    """``vivid.sh torch-build`` with a fake ``nvidia-smi`` (None: one that fails, as without a driver)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "nvidia-smi"
    body = (
        f"echo '| NVIDIA-SMI 570.00   Driver Version: 570.00   CUDA Version: {smi}     |'"
        if smi
        else "exit 9"
    )
    fake.write_text(f"#!/bin/sh\n{body}\n")
    fake.chmod(0o755)
    full = {k: v for k, v in os.environ.items() if k != "VIVID_TORCH"}
    full.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env)
    cmd = [str(ROOT / "installers" / "vivid.sh"), "torch-build"]
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("smi", "env", "build"),
    [
        (None, {}, "cpu"),
        ("13.0", {}, "cu130"),
        ("12.9", {}, "cu128"),
        ("12.6", {}, "cu126"),
        ("12.8", {"VIVID_TORCH": "cpu"}, "cpu"),
        ("12.8", {"VIVID_TORCH": "cu126"}, "cu126"),
        ("13.1", {"VIVID_TORCH": "cuda"}, "cu130"),
    ],
)
def test_torch_build_follows_the_driver(tmp_path, smi, env, build):
    proc = torch_build(tmp_path, smi, **env)
    assert proc.returncode == 0 and proc.stdout.strip() == build, proc.stderr


def test_a_driver_too_old_for_every_build_gets_the_cpu_build_and_is_told(tmp_path):
    proc = torch_build(tmp_path, "11.8")
    assert proc.stdout.strip() == "cpu" and "CUDA 11.8, older than every CUDA build" in proc.stderr


@pytest.mark.parametrize(("smi", "env"), [(None, {"VIVID_TORCH": "cuda"}), ("12.8", {"VIVID_TORCH": "rocm"})])
def test_impossible_choices_are_one_line_errors(tmp_path, smi, env):
    proc = torch_build(tmp_path, smi, **env)
    assert proc.returncode == 1 and proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1


def test_the_lock_satisfies_pyproject():
    pins = locked()
    extras = PYPROJECT["project"]["optional-dependencies"]
    for text in PYPROJECT["project"]["dependencies"] + [r for reqs in extras.values() for r in reqs]:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in the lock: run installers/lock.sh"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"lock has {name}=={pins[name]}, pyproject {req}"
        )


def test_both_installers_take_torch_from_the_lock_and_offer_the_same_builds():
    sh = (ROOT / "installers" / "vivid.sh").read_text()
    ps1 = (ROOT / "installers" / "vivid.ps1").read_text()
    assert "torch" in locked() and not re.search(r"torch==\d", sh + ps1)  # no version written in a script
    sh_builds = re.search(r'^torch_cuda_builds="([^"]+)"', sh, re.MULTILINE).group(1).split()
    ps1_builds = re.findall(
        r'"(cu\d+)"', re.search(r"^\$TorchCudaBuilds = (.+)$", ps1, re.MULTILINE).group(1)
    )
    assert sh_builds == ps1_builds and sh_builds == sorted(sh_builds, reverse=True)


def fake_checkout(tmp_path: Path) -> tuple[Path, Path]:
    """The installer, pyproject and lock in a folder whose .venv is a recording stub (nothing installed)."""
    root = tmp_path / "checkout"
    (root / "installers").mkdir(parents=True)
    (root / "requirements").mkdir()
    for name in ("installers/vivid.sh", "pyproject.toml", "requirements/lock-linux.txt"):
        (root / name).write_bytes((ROOT / name).read_bytes())
    (root / "installers" / "vivid.sh").chmod(0o755)
    calls = tmp_path / "calls.log"
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "vivid"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n')
        (bin_dir / tool).chmod(0o755)
    return root, calls


def test_setup_installs_the_lock_once_and_again_when_the_build_changes(tmp_path):
    root, calls = fake_checkout(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIVID_TORCH")}
    env["PATH"] = f"{tmp_path / 'no-driver'}{os.pathsep}{env['PATH']}"  # whatever this machine has: cpu
    (tmp_path / "no-driver").mkdir()
    (tmp_path / "no-driver" / "nvidia-smi").write_text("#!/bin/sh\nexit 9\n")
    (tmp_path / "no-driver" / "nvidia-smi").chmod(0o755)
    setup = [str(root / "installers" / "vivid.sh"), "setup"]

    first = subprocess.run(setup, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    log = calls.read_text().splitlines()
    torch = f"torch=={locked()['torch']}+cpu"
    assert any(line.endswith(torch) and "install" in line for line in log)
    assert f"python -m pip install -q -c {root}/requirements/lock-linux.txt -e .[gui,model,otio]" in log
    assert "python -m pip check" in log and log[-1] == "vivid doctor --gui"
    stamp = (root / ".venv" / ".vivid-setup").read_text().splitlines()
    assert stamp[0].endswith("torch+cpu") and stamp[1] == "extras gui,model,otio"

    calls.unlink()
    again = subprocess.run(setup, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and calls.read_text().splitlines() == ["vivid doctor --gui"]  # stamp: skip

    calls.unlink()
    cuda = subprocess.run(
        setup, env={**env, "VIVID_TORCH": "cu128"}, capture_output=True, text=True, timeout=60
    )
    assert cuda.returncode == 0 and "CUDA build cu128" in cuda.stderr
    assert any("download.pytorch.org/whl/cu128" in line for line in calls.read_text().splitlines())


def test_the_lock_leaves_torchs_build_to_the_installer():
    """No CUDA libraries in the lock: they come with the CUDA build of torch, on machines that take it."""
    cuda = [name for name in locked() if name.startswith(("nvidia-", "cuda-")) or name == "triton"]
    assert cuda == [] and "+" not in str(locked()["torch"])
