"""``vivid doctor`` on this machine: every topic reported, and what it says agrees with what is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import av
from test_qtlibs import LDD_MISSING, fake_ldd

from vivid_desktop.system import doctor


def _doctor(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "VIVID_MODEL_DIRS"}
    base.update(
        VIVID_DESKTOP_CONFIG=str(tmp_path / "config"),
        VIVID_DESKTOP_DATA=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        HF_HOME=str(tmp_path / "hf"),
        **env,
    )
    cmd = [sys.executable, "-c", "import sys; from vivid_desktop.cli.main import main; sys.exit(main())"]
    return subprocess.run([*cmd, "doctor", *args], env=base, capture_output=True, text=True, timeout=300)


def test_doctor_reports_this_machine(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    proc = _doctor(tmp_path, "--json", VIVID_MODEL_DIRS=str(models))
    found = {f["topic"]: f for f in json.loads(proc.stdout)}
    assert proc.returncode == (1 if any(f["problem"] for f in found.values()) else 0), proc.stderr
    assert set(found) >= {
        "python",
        "gpu",
        "torch",
        "ffmpeg",
        "qt",
        "audio",
        "models",
        "engine flow",
        "engine vivid",
    }
    assert found["python"]["found"].startswith(".".join(map(str, sys.version_info[:3])))
    assert found["ffmpeg"]["found"] == f"FFmpeg {av.ffmpeg_version_info} inside PyAV {av.__version__}"
    assert found["torch"]["found"].startswith(metadata.version("torch"))  # asked in a child process
    assert ("GPU:" in found["torch"]["found"]) != ("no GPU" in found["torch"]["found"])
    for name in ("settings", "data", "cache"):  # the per-user folders, made and writable
        folder = found[f"{name} folder"]
        assert folder["found"].startswith(str(tmp_path)) and folder["problem"] is None
    assert found["models"]["found"].startswith("none found")
    assert found["engine flow"] == {
        "topic": "engine flow",
        "found": "ready (CPU)",
        "problem": None,
        "hint": None,
    }
    assert (
        found["engine vivid"]["found"] == "no model yet" and "docs/vivid.md" in found["engine vivid"]["hint"]
    )
    assert f"PySide6 {metadata.version('PySide6-Essentials')}" in found["qt"]["found"]


def test_gpus_as_the_driver_lists_them(tmp_path, monkeypatch):
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\necho 'NVIDIA H200, 143771 MiB, 570.86.15'\necho 'NVIDIA L4, 23034 MiB, 570.86.15'\n"
    )
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert doctor.gpu_finding().found == "NVIDIA H200, 143771 MiB, 570.86.15; NVIDIA L4, 23034 MiB, 570.86.15"
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    assert doctor.gpu_finding().found.startswith("nvidia-smi does not work")


def test_doctor_names_the_missing_libraries_and_the_fix(tmp_path):
    ldd = fake_ldd(tmp_path / "bin", LDD_MISSING)
    path = f"{ldd.parent}{os.pathsep}{os.environ['PATH']}"
    proc = _doctor(tmp_path, PATH=path, DISPLAY=":99", QT_QPA_PLATFORM="xcb")
    assert proc.returncode == 1
    qt = [line for line in proc.stdout.splitlines() if "✗ Qt's X11 plugin" in line]
    assert len(qt) == 1 and "libxcb-icccm.so.4, libxcb-keysyms.so.1" in qt[0]
    gui = _doctor(tmp_path, "--gui", PATH=path, DISPLAY=":99", QT_QPA_PLATFORM="xcb")
    assert gui.returncode == 1 and gui.stdout == ""
    assert gui.stderr.count("\n") == 1 and "libxcb-keysyms.so.1" in gui.stderr
    offscreen = _doctor(tmp_path, "--gui", PATH=path, QT_QPA_PLATFORM="offscreen")
    assert offscreen.returncode == 0 and offscreen.stderr == ""


def test_engines_without_the_model_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # find_spec now says: not installed
    torch = doctor.Finding("torch", "2.x (CPU build); no GPU")
    models = doctor.Finding("models", "tiny (vivid) /m")
    flow, vivid = doctor.engine_findings(torch, models)
    assert flow.found == "ready (CPU)" and vivid.found == "not ready" and vivid.problem is None
    assert vivid.hint.startswith("missing diffusers: pip install")
    monkeypatch.delitem(sys.modules, "diffusers")
    assert doctor.engine_findings(torch, models)[1].found == "ready (CPU only: slow)"


def test_the_model_folders_set_in_the_editor_are_searched(tmp_path, monkeypatch):
    from vivid_desktop.qt.settings import AppSettings

    monkeypatch.setenv("VIVID_DESKTOP_CONFIG", str(tmp_path / "config"))
    models = tmp_path / "my models, tiny"  # a comma: QSettings quotes it
    tiny = [sys.executable, "-m", "vivid_desktop.cli.main", "model", "tiny", str(models / "tiny-vivid")]
    subprocess.run(tiny, check=True, capture_output=True, timeout=300)
    settings = AppSettings()
    settings.set("models/folders", [str(models), str(tmp_path / "elsewhere")])
    settings.sync()
    assert doctor.editor_model_folders() == [str(models), str(tmp_path / "elsewhere")]
    proc = _doctor(tmp_path, "--json")
    found = {f["topic"]: f for f in json.loads(proc.stdout)}
    assert "tiny-vivid" in found["models"]["found"] and str(models) in found["models"]["found"]
    assert found["engine vivid"]["found"].startswith("ready")


def test_doctor_names_the_audio_library_as_a_hint(tmp_path):
    """No PulseAudio client library: sound is optional, so the doctor hints the package and still passes
    when nothing needed is missing."""
    ldd = fake_ldd(tmp_path / "bin", "\tlibpulse.so.0 => not found\n")
    path = f"{ldd.parent}{os.pathsep}{os.environ['PATH']}"
    proc = _doctor(tmp_path, "--json", PATH=path, QT_QPA_PLATFORM="offscreen")
    audio = {f["topic"]: f for f in json.loads(proc.stdout)}["audio"]
    assert audio["problem"] is None and audio["found"] == "QtMultimedia cannot load"
    assert "libpulse.so.0" in audio["hint"] and audio["hint"].startswith("no sound")
