"""Errors that name the problem, saves that keep modes, and a runtime that refuses what it must not guess."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from hostile_helpers import H, W, make_project
from pydantic import ValidationError

from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.store import open_project
from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol.envelope import decode_message, encode_message, make_message
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest, TrainRequest
from vivid_desktop.protocol.wire import FrameReader
from vivid_desktop.runtime_client.launch import LaunchSpec, connect, handshake, spawn


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_failure_is_a_warning_and_the_project_is_saved(store):
    warnings, failures = [], []
    store.events.warned.connect(lambda ev: warnings.append(ev.message))
    store.events.save_failed.connect(lambda ev: failures.append(ev.message))
    for p in store.backups_dir.iterdir():
        p.unlink()
    store.backups_dir.rmdir()
    store.backups_dir.write_text("a file where the backups folder should be")
    store.project.set_name("renamed")
    store.save(backup=True)
    assert json.loads(store.project_file.read_text())["name"] == "renamed"
    assert not store.dirty and failures == []
    assert len(warnings) == 1 and "saved, but its backup could not be written" in warnings[0]


def test_saves_keep_each_files_mode(store):
    edit_id = store.project.edits[0].id
    mask = store.mask_path(edit_id, 2)
    os.chmod(store.project_file, 0o640)
    os.chmod(mask, 0o664)
    store.set_mask(edit_id, 2, np.full((H, W), 255, np.uint8))
    store.project.set_name("again")
    store.save()
    assert mode(store.project_file) == 0o640 and mode(mask) == 0o664


def test_new_files_get_the_umask_default_not_0600(tmp_path, clip):
    old = os.umask(0o027)
    try:
        store = make_project(tmp_path / "p.vivid", clip)
        edit = store.project.add_edit(task="delete")
        store.add_keyframe(edit.id, 1, np.full((H, W), 255, np.uint8))
        store.save(backup=True)
    finally:
        os.umask(old)
    assert mode(store.project_file) == 0o640
    assert mode(store.mask_path(edit.id, 1)) == 0o640
    assert {mode(p) for p in store.backups()} == {0o640}


@pytest.mark.parametrize(
    "change",
    [
        {"source": "clip.mp4"},
        {"output_dir": "renders/x"},
        {"mask_dir": "../masks"},
        {"keyframes": [{"frame": 0, "mask": "m.png"}]},
        {"settings": {"cache_dir": "cache"}},
        {"settings": {"feather": 1e6}},
        {"settings": {"steps": 10**9}},
        {"settings": {"guidance": float("nan")}},
        {"feather": 1_000_000},
        {"seed": 2**80},
        {"stop": 10**12},
        {"source": "/clip\x00.mp4"},
    ],
)
def test_the_protocol_refuses_relative_paths_and_unbounded_numbers(tmp_path, change):
    base = dict(
        source=str(tmp_path / "c.mp4"), start=0, stop=4, mask=str(tmp_path / "m.png"), task="delete",
        output_dir=str(tmp_path / "out"),
    )  # fmt: skip
    RenderPlan(**base)
    with pytest.raises(ValidationError):
        RenderPlan(**{**base, **change})


def test_every_request_type_refuses_relative_paths(tmp_path):
    with pytest.raises(ValidationError, match="must be absolute"):
        EditKeyframeRequest(source="c.mp4", frame=0, mask="/m.png", task="delete", output="/o.png")
    with pytest.raises(ValidationError, match="must be absolute"):
        TrackMasksRequest(source="/c.mp4", start=0, stop=2, anchors=[], output_dir="out")
    with pytest.raises(ValidationError, match="must be absolute"):
        TrainRequest(data="project.vivid", model="/m", output="/l.safetensors")


def test_the_real_runtime_refuses_a_crafted_plan_with_one_clear_error(tmp_path):
    """Relative paths and a 1e6 feather, sent raw past the client's own checks: error replies, no work."""
    (tmp_path / "m.png").write_bytes(b"x")
    good = RenderPlan(
        source=str(tmp_path / "c.mp4"), start=0, stop=4, mask=str(tmp_path / "m.png"), task="delete",
        output_dir=str(tmp_path / "out"),
    )  # fmt: skip
    crafted = [
        good.model_copy(update={"output_dir": "out"}),
        good.model_copy(update={"settings": {"feather": 1e6}}),
        good.model_copy(update={"settings": {"cache_dir": "../cache"}}),
    ]
    spec = LaunchSpec(log_path=tmp_path / "runtime.log")
    launched = spawn(spec)
    try:
        sock = connect(launched, spec.start_timeout)
        handshake(sock, launched, "hostile", 10.0)
        sent = [make_message(c, session="hostile", job_id=f"j{i}") for i, c in enumerate(crafted)]
        sock.sendall(b"".join(encode_message(msg) for msg in sent))
        reader = FrameReader(sock)
        replies = {}
        while len(replies) < len(sent):
            reply = decode_message(reader.read_body())
            replies[reply.parent_id] = reply
        sock.sendall(encode_message(make_message(m.Shutdown(), session="hostile")))
    finally:
        launched.proc.wait(timeout=20)
        launched.cleanup()
    for msg, why in zip(
        sent, ["must be absolute", "'feather' must be between", "must be absolute"], strict=True
    ):
        reply = replies[msg.msg_id]
        assert reply.msg_type == "error_reply" and reply.content.error.code == "invalid_content"
        assert why in reply.content.error.message and "\n" not in reply.content.error.message
    assert not (tmp_path / "out").exists() and not (Path.cwd() / "out").exists()


def test_a_tiny_clip_is_refused_before_a_project_folder_is_made(tmp_path):
    from test_hostile_media import _intra  # the FFV1 maker of the bad-media suite

    from vivid_desktop.qt.session import open_or_create

    clip = _intra(tmp_path / "two.mkv", (2, 2))
    with pytest.raises(Exception, match="2×2 pixels; VIVID edits videos from 16×16") as caught:
        open_or_create(clip)
    assert type(caught.value).__name__ == "MediaError"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.mkv"]


def test_opening_a_project_with_a_missing_or_newer_file_says_so(tmp_path, store):
    with pytest.raises(ProjectError, match="is not a VIVID project"):
        open_project(tmp_path / "nothing")
    data = json.loads(store.project_file.read_text())
    data["schema"] = "Project.99"
    store.project_file.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=r"reads up to Project\.1\. Update VIVID Desktop"):
        open_project(store.folder)


def test_a_clip_whose_name_is_not_utf8_is_refused_by_the_editor(tmp_path, clip):
    from vivid_desktop.qt.session import open_or_create

    folder = os.fsencode(tmp_path) + b"/caf\xe9"  # Latin-1 bytes, not UTF-8
    os.mkdir(folder)
    path = Path(os.fsdecode(folder + b"/clip\xff.mp4"))
    path.write_bytes(clip.read_bytes())
    with pytest.raises(ProjectError, match="is not valid UTF-8 text, which a project cannot record"):
        open_or_create(path)
    assert os.listdir(folder) == [b"clip\xff.mp4"]


def test_a_save_over_a_link_replaces_the_link_and_never_writes_through(tmp_path, outside):
    from vivid_desktop.core.files import write_atomic

    link = tmp_path / "p" / "f.json"
    link.parent.mkdir()
    link.symlink_to(outside / "secret.txt")
    old = os.umask(0o022)
    try:
        write_atomic(link, b"new")
    finally:
        os.umask(old)
    assert not link.is_symlink() and link.read_bytes() == b"new" and mode(link) == 0o644
