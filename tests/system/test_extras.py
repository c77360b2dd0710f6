"""A missing extra is one clear line, never a ModuleNotFoundError traceback; the table is pyproject's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from vivid_desktop.cli.main import main
from vivid_desktop.system import extras

PYPROJECT = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]


@pytest.mark.parametrize("extra", sorted(extras.EXTRAS))
def test_the_table_is_pyprojects(extra):
    declared = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]}
    assert set(extras.EXTRAS[extra]) == declared


def test_users_get_runtime_dependencies_and_no_dev_tools():
    base = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert "psutil" in base  # used at run time (crash recovery)
    dev = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    users = base | set(extras.EXTRAS["gui"]) | set(extras.EXTRAS["model"])
    assert not dev & users and {"pytest", "ruff"} <= dev


def test_missing_line(monkeypatch):
    assert extras.missing_line("model", "x") is None  # all installed here
    monkeypatch.setitem(sys.modules, "diffusers", None)
    monkeypatch.setitem(sys.modules, "peft", None)
    assert extras.missing_line("model", "training") == (
        "training needs the model extra (diffusers, peft are not installed): "
        'pip install "vivid-desktop[model]" (in a checkout: ./installers/vivid.sh setup)'
    )
    with pytest.raises(extras.MissingExtra, match="diffusers, peft"):
        extras.require("model", "training")


@pytest.mark.parametrize(
    "argv",
    [
        ["model", "tiny", "OUT"],
        ["train", "--data", "D", "--model", "M", "-o", "x.safetensors"],
    ],
)
def test_commands_needing_the_model_extra_say_so(monkeypatch, capsys, tmp_path, argv):
    monkeypatch.setitem(sys.modules, "diffusers", None)
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and err[0].startswith(f"vivid {argv[0]}: ") and "diffusers is not installed" in err[0]
    )
    assert not any(tmp_path.iterdir())  # nothing started, nothing written


def test_the_editor_without_the_gui_extra(monkeypatch, capsys):
    from vivid_desktop.qt.app import main as desktop_main

    monkeypatch.setitem(sys.modules, "pyqtgraph", None)
    assert desktop_main(["--no-runtime"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "vivid-desktop: the editor needs the gui extra (pyqtgraph is not installed): "
        'pip install "vivid-desktop[gui]" (in a checkout: ./installers/vivid.sh setup)'
    )


def test_the_vivid_engine_without_the_model_extra_is_one_line(tmp_path):
    """Through the real runtime process, which sees the same install (diffusers hidden from both)."""
    from vivid_desktop.core.files import write_png
    from vivid_desktop.media import synth
    from vivid_desktop.media.export import export_video

    scene = synth.pan_scene(6, 64, 48, seed=1)
    clip = export_video(scene.frames, tmp_path / "clip.mp4", rate=24)
    write_png(tmp_path / "mask.png", scene.masks[0])
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['diffusers'] = None\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hide), *sys.path]))
    cmd = [
        sys.executable,
        "-m",
        "vivid_desktop.cli.main",
        "edit",
        str(clip),
        "--mask",
        str(tmp_path / "mask.png"),
    ]
    cmd += ["--task", "add", "--caption", "a kite", "--engine", "vivid", "--model", str(tmp_path / "m")]
    proc = subprocess.run(
        [*cmd, "-o", str(tmp_path / "out.mp4")], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "vivid edit: the vivid engine is not available: model libraries not installed: diffusers; "
        'pip install "vivid-desktop[model]" (in a checkout: ./installers/vivid.sh setup)'
    ]
    assert not (tmp_path / "out.mp4").exists()


def test_submodules_are_found_without_importing_their_package():
    code = (
        "import sys; from vivid_desktop.system.extras import installed; "
        "print(installed('PySide6.QtMultimedia'), installed('PySide6.QtNone'), 'PySide6' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False", "False"]
