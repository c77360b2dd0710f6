"""Junk: temp files of interrupted writes, a killed editor's runtime folder, a half-made project."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hostile_helpers import make_project

from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.store import open_project
from vivid_desktop.runtime_client.leftovers import OWNER_FILE, remove_abandoned


def test_temps_of_interrupted_writes_are_removed_on_open(store, outside):
    f, edit_id = store.folder, store.project.edits[0].id
    render = store.prepare_render(edit_id)
    (f / "cache" / "flow" / "k").mkdir(parents=True)
    (f / ".git").mkdir()
    (f / "cache" / "ext").symlink_to(outside)
    temps = [
        f / ".project.json.a1b2.tmp",
        f / "masks" / edit_id / ".000002.png.x7.tmp",
        f / "masks" / edit_id / "track" / ".000003.png.x8.tmp",
        f / "backups" / ".project-20260101T000000Z.json.q.tmp",
        f / "cache" / "flow" / "k" / ".tmp-9f.png",
        f / "cache" / "flow" / "k" / ".tmp-9f.npz",
        f / "renders" / render.id / ".000004.k2j.png",
        f / "renders" / render.id / ".000004.png.z.tmp",
    ]
    keep = [f / ".git" / ".index.tmp", f / "cache" / "notes.tmp", f / "renders" / render.id / "000001.png"]
    for p in temps + keep:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half")
    open_project(f)
    assert [p for p in temps if p.exists()] == []
    assert all(p.exists() for p in keep) and store.mask_path(edit_id, 2).is_file()


def test_a_read_only_project_is_not_cleaned(store, crafted):
    temp = store.folder / "masks" / ".x.png.q.tmp"
    temp.write_bytes(b"half")
    s = crafted(lambda d: d["edits"][0].update(id="../x"))
    assert s.read_only and temp.exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_runtime_folders_of_gone_editors_are_removed(tmp_path):
    def folder(name: str, owner: int | None, age_s: float = 0) -> Path:
        d = tmp_path / name
        d.mkdir()
        if owner is not None:
            (d / OWNER_FILE).write_text(str(owner))
        then = time.time() - age_s
        os.utime(d, (then, then))
        return d

    dead = folder("vivid-rt-dead", _dead_pid())
    live = folder("vivid-rt-live", os.getpid())
    old = folder("vivid-rt-old", None, age_s=7200)
    young = folder("vivid-rt-young", None)
    other = folder("other-rt-dead", _dead_pid())
    (tmp_path / "vivid-rt-file").write_text("x")
    assert sorted(remove_abandoned(tmp_path)) == sorted([dead, old])
    assert live.is_dir() and young.is_dir() and other.is_dir() and (tmp_path / "vivid-rt-file").exists()


def test_a_killed_editors_runtime_folder_goes_at_the_next_start(tmp_path):
    """A real editor process starts the runtime and is killed; the next start removes its folder."""
    script = textwrap.dedent(
        """
        import os, signal, sys
        from vivid_desktop.runtime_client.launch import LaunchSpec, spawn
        launched = spawn(LaunchSpec())
        print(launched.workdir, launched.proc.pid, flush=True)
        os.kill(launched.proc.pid, signal.SIGKILL)
        launched.proc.wait()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    workdir = Path(proc.stdout.split()[0])
    assert workdir.parent == tmp_path and (workdir / OWNER_FILE).is_file()
    assert remove_abandoned(tmp_path) == [workdir] and not workdir.exists()


@pytest.mark.parametrize("existed", [False, True])
def test_a_failed_create_project_leaves_nothing(tmp_path, clip, monkeypatch, existed):
    folder = tmp_path / "full.vivid"
    if existed:
        folder.mkdir()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ProjectError, match=r"could not create the project full\.vivid: the disk is full"):
        make_project(folder, clip)
    monkeypatch.undo()
    assert (list(folder.iterdir()) == []) if existed else not folder.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["full.vivid"] if existed else [])
