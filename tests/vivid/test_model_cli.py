"""``vivid model tiny`` and ``vivid model list`` through the real command (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _vivid(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vivid_desktop.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_model_tiny_writes_a_loadable_model_and_list_finds_it(tmp_path):
    done = _vivid("model", "tiny", str(tmp_path / "models" / "tiny"), "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "models" / "tiny" / "vivid.json").is_file()
    assert json.loads((tmp_path / "models" / "tiny" / "vivid.json").read_text())["name"] == "vivid-tiny-seed3"
    (tmp_path / "hub").mkdir()
    listed = _vivid(
        "model",
        "list",
        "--dir",
        str(tmp_path / "models"),
        "--json",
        env={"HF_HUB_CACHE": str(tmp_path / "hub")},
    )
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [(e["name"], e["kind"], e["source"]) for e in entries] == [("vivid-tiny-seed3", "vivid", "folder")]
    assert Path(entries[0]["path"]) == tmp_path / "models" / "tiny"
    text = _vivid("model", "list", "--dir", str(tmp_path / "models"), "--no-hf-cache")
    assert "vivid-tiny-seed3" in text.stdout and "vivid" in text.stdout
