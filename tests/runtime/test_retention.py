"""A remote runtime's clean-up: entries unused for longer than ``--keep-days`` go, used ones stay, and
using an entry (a job reading an upload, a client fetching a frame) makes it young again."""

from __future__ import annotations

import hashlib
import os
import threading
import time

from model_runtime.server.retention import keep_pruning, prune
from model_runtime.server.uploads import ServerFiles

DAY = 86400.0


def _upload(files: ServerFiles, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    files.write_chunk(sha, len(data), 0, data)
    return sha


def _age(path, days: float) -> None:
    t = time.time() - days * DAY
    os.utime(path, (t, t), follow_symlinks=False)


def test_old_entries_go_and_recent_ones_stay(tmp_path):
    files = ServerFiles(tmp_path / "data")
    old, fresh = _upload(files, b"old clip"), _upload(files, b"fresh clip")
    render = files.resolve("render:abc123", want="render_dir")
    render.mkdir()
    (render / "000000.png").write_bytes(b"x" * 1000)
    (files.partial / f"{'0' * 64}.part").write_bytes(b"abandoned")
    for path in (files.blobs / old, render, files.partial / f"{'0' * 64}.part"):
        _age(path, 20)
    _age(files.blobs / fresh, 3)

    done = prune(files, keep_s=14 * DAY)
    assert sorted(done.removed) == sorted(
        [f"uploads/blobs/{old}", "renders/abc123", f"uploads/partial/{'0' * 64}.part"]
    )
    assert done.freed_bytes == len(b"old clip") + 1000 + len(b"abandoned")
    assert (files.blobs / fresh).is_file() and not render.exists() and not (files.blobs / old).exists()
    assert not any(p.name.startswith(".") for p in files.renders.iterdir())  # nothing left aside


def test_using_an_entry_keeps_it(tmp_path):
    files = ServerFiles(tmp_path / "data")
    sha = _upload(files, b"clip in use")
    folder_ref = files.make_folder({"key.png": sha})
    render = files.resolve("render:r1", want="render_dir")
    render.mkdir()
    (render / "000001.png").write_bytes(b"frame")
    for path in (files.blobs / sha, files.resolve(folder_ref, want="folder"), render):
        _age(path, 30)
    files.resolve(f"upload:{sha}", want="input")  # a job reads the upload
    files.resolve(folder_ref, want="folder")  # and the keyframe folder
    files.read("render:r1/000001.png", 0, 10)  # a client fetches a frame
    assert prune(files, keep_s=14 * DAY).removed == []


def test_keep_days_zero_keeps_everything_and_the_thread_prunes_at_start(tmp_path):
    files = ServerFiles(tmp_path / "data")
    sha = _upload(files, b"stale")
    _age(files.blobs / sha, 40)
    stop = threading.Event()
    assert keep_pruning(files, 0, stop) is None and (files.blobs / sha).exists()
    thread = keep_pruning(files, 14, stop)
    assert thread is not None
    deadline = time.time() + 10
    while (files.blobs / sha).exists() and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert not (files.blobs / sha).exists() and not thread.is_alive()
