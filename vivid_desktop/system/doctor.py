"""``vivid doctor``'s findings: what this machine has for VIVID Desktop and what is missing, with fixes.

Each check returns a ``Finding``: a topic, what was found, a problem (with its fix) when something needed
is missing, or a hint when something optional is (the vivid engine's libraries, a model, a GPU build).
Torch is asked about in a child process (this package never imports it), and so are the models on disk
(the runtime's own discovery rules).
"""

from __future__ import annotations

import configparser
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata

from vivid_desktop.system import extras, folders, qtlibs
from vivid_desktop.system.distro import detect

# Runs in a child process: torch's version, its CUDA build and the GPUs it sees, as JSON.
_TORCH_PROBE = """
import json, torch
doc = {"torch": torch.__version__, "cuda": torch.version.cuda, "devices": []}
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        doc["devices"].append({"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1)})
mps = getattr(torch.backends, "mps", None)
doc["mps"] = bool(mps and mps.is_available())
print(json.dumps(doc))
"""


@dataclass
class Finding:
    topic: str
    found: str
    problem: str | None = None  # something needed is missing: what, and how to fix it
    hint: str | None = None  # something optional is missing: what it would give, and how to get it


def version_of(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def python_finding() -> Finding:
    found = f"{platform.python_version()} ({sys.executable}) on {platform.platform(terse=True)}"
    problem = None if sys.version_info >= (3, 11) else "VIVID Desktop needs Python 3.11 or newer"
    return Finding("python", found, problem)


def torch_finding(timeout: float = 120.0) -> Finding:
    if not extras.installed("torch"):
        return Finding(
            "torch", "not installed", hint=f"the vivid engine needs it: {extras.install_hint('model')}"
        )
    try:
        done = subprocess.run(
            [sys.executable, "-c", _TORCH_PROBE], capture_output=True, text=True, timeout=timeout, check=False
        )
        doc = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return Finding("torch", "installed, but it does not start", _last_line(locals().get("done")))
    build = f"CUDA {doc['cuda']}" if doc["cuda"] else "CPU build"
    found = f"{doc['torch']} ({build})"
    if doc["devices"]:
        gpus = ", ".join(f"{d['name']} {d['memory_gib']} GiB" for d in doc["devices"])
        return Finding("torch", f"{found}; GPU: {gpus}")
    if doc["mps"]:
        return Finding("torch", f"{found}; Apple GPU (MPS)")
    hint = None
    if shutil.which("nvidia-smi") and not doc["cuda"]:
        hint = "NVIDIA driver found, torch is the CPU build: VIVID_TORCH=cuda ./installers/vivid.sh setup"
    found += "; no GPU (the vivid engine runs on the CPU: tiny models only)"
    return Finding("torch", found, hint=hint)


def _last_line(done: subprocess.CompletedProcess | None) -> str:
    text = (done.stderr or done.stdout).strip() if done is not None else ""
    return text.splitlines()[-1] if text else "no answer"


def gpu_finding() -> Finding:
    """NVIDIA GPUs as the driver sees them (whatever torch build is installed)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return Finding("gpu", "no NVIDIA driver (nvidia-smi not found)")
    query = [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return Finding("gpu", f"nvidia-smi does not work: {exc}")
    gpus = [", ".join(part.strip() for part in line.split(",")) for line in done.stdout.splitlines() if line]
    return Finding("gpu", "; ".join(gpus) or "nvidia-smi lists no GPU")


def ffmpeg_finding() -> Finding:
    try:
        import av
    except ImportError as exc:
        return Finding("ffmpeg", "PyAV missing", f"reinstall VIVID Desktop (PyAV is required): {exc}")
    ffmpeg = getattr(av, "ffmpeg_version_info", "?")
    return Finding("ffmpeg", f"FFmpeg {ffmpeg} inside PyAV {av.__version__}")


def qt_finding(env: dict[str, str] | None = None) -> Finding:
    env = dict(os.environ) if env is None else env
    pyside = version_of("PySide6-Essentials") or version_of("PySide6")
    if pyside is None or not extras.installed("PySide6"):
        hint = f"the editor needs it: {extras.install_hint('gui')}"
        return Finding("qt", "PySide6 not installed", hint=hint)
    used = qtlibs.platform_in_use(env)
    found = f"PySide6 {pyside}, platform {used}"
    if not sys.platform.startswith("linux"):
        return Finding("qt", found)
    check = qtlibs.check_xcb()
    if check.error:
        return Finding("qt", f"{found}; X11 plugin not checked: {check.error}")
    if check.missing:
        return Finding("qt", found, qtlibs.missing_libs_line(check.missing, detect()))
    found += "; X11 plugin's libraries all present"
    if used == "xcb" and not env.get("DISPLAY"):
        return Finding("qt", found, qtlibs.gui_problem(env))
    return Finding("qt", found)


def audio_finding() -> Finding:
    """Sound in the editor (QtMultimedia): optional, so a missing library is a hint with its fix."""
    if not extras.installed("PySide6.QtMultimedia"):
        return Finding("audio", "QtMultimedia not installed", hint=f"for sound: {extras.install_hint('gui')}")
    if not sys.platform.startswith("linux"):
        return Finding("audio", "QtMultimedia installed")
    check = qtlibs.check_audio()
    if check.error:
        return Finding("audio", f"QtMultimedia not checked: {check.error}")
    if check.missing:
        return Finding(
            "audio", "QtMultimedia cannot load", hint=qtlibs.audio_libs_line(check.missing, detect())
        )
    return Finding("audio", "QtMultimedia's libraries all present")


def folder_findings() -> list[Finding]:
    out = []
    for name, path in folders.user_folders().items():
        reason = folders.writable(path)
        out.append(Finding(f"{name} folder", str(path), reason and f"not writable: {reason}"))
    return out


def editor_model_folders() -> list[str]:
    """The model folders set in the editor's Settings (read from its INI file without Qt)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(folders.config_dir() / "settings.ini", encoding="utf-8")
        value = parser.get("models", "folders", fallback="")
    except (OSError, configparser.Error):
        return []
    if value.startswith("@"):  # a Qt variant: @Invalid() is the empty list
        return []
    # QSettings writes a list as comma-separated items, quoting those with a comma, doubling backslashes
    items = next(csv.reader([value], skipinitialspace=True), [])
    return [item.replace("\\\\", "\\") for item in items if item]


def models_finding(timeout: float = 60.0) -> Finding:
    """Models and LoRAs the runtime finds in the editor's model folders, VIVID_MODEL_DIRS and the Hugging
    Face cache (the runtime's own discovery, in a child process)."""
    cmd = [sys.executable, "-m", "model_runtime.vivid", "list", "--json"]
    for folder in editor_model_folders():
        cmd += ["--dir", folder]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        entries = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return Finding("models", "could not list models (the runtime does not start)")
    if not entries:
        return Finding("models", "none found (Settings' model folders, VIVID_MODEL_DIRS, Hugging Face cache)")
    return Finding("models", "; ".join(f"{e['name']} ({e['kind']}) {e['path']}" for e in entries))


def engine_findings(torch: Finding, models: Finding) -> list[Finding]:
    flow_missing = [m for m in ("numpy", "cv2", "av") if not extras.installed(m)]
    flow = Finding("engine flow", "ready (CPU)")
    if flow_missing:
        problem = f"missing {', '.join(flow_missing)}: reinstall VIVID Desktop"
        flow = Finding("engine flow", "not ready", problem)
    lacking = extras.missing("model")
    if lacking:
        hint = f"missing {', '.join(lacking)}: {extras.install_hint('model')}"
        vivid = Finding("engine vivid", "not ready", hint=hint)
    elif models.found.startswith(("none", "could not")):
        hint = "add a model folder (docs/vivid.md; vivid model list)"
        vivid = Finding("engine vivid", "no model yet", hint=hint)
    else:
        on_gpu = "; GPU:" in torch.found or "(MPS)" in torch.found
        vivid = Finding("engine vivid", "ready" + ("" if on_gpu else " (CPU only: slow)"))
    return [flow, vivid]


def run_checks() -> list[Finding]:
    """Every check, in the order ``vivid doctor`` prints them."""
    from vivid_desktop import __version__

    torch = torch_finding()
    models = models_finding()
    return [
        Finding("vivid-desktop", __version__),
        python_finding(),
        gpu_finding(),
        torch,
        ffmpeg_finding(),
        qt_finding(),
        audio_finding(),
        *folder_findings(),
        models,
        *engine_findings(torch, models),
    ]


def as_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(f) for f in findings], indent=2)
