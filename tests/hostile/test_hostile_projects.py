"""Crafted project.json files and project folders: nothing outside the project is read, written or deleted.

Each case of issue 17.1: the project opens read-only naming the offending entry (or is refused), and the
action that used to reach outside now stays inside or fails with one clear ProjectError.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hostile_helpers import H, W

from model_runtime.engines.flow import FlowEngine
from vivid_desktop.core.autosave import Autosaver
from vivid_desktop.core.project import Edit, ProjectError
from vivid_desktop.core.store import ProjectStore, open_project


def first_edit(data: dict) -> dict:
    return data["edits"][0]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def progress(self, done, total, message="", preview=None):
        pass

    def frame_ready(self, frame, path, preview=None):
        self.events.append(("frame_ready", frame, Path(path)))

    def check_cancelled(self):
        pass

    def log(self, message):
        pass


def test_a_mask_outside_is_left_out_and_the_project_is_read_only(crafted, outside):
    s = crafted(lambda d: first_edit(d)["keyframes"][0].update(mask="../outside/victim.png"))
    assert s.read_only and "'../outside/victim.png'" in s.read_only_reason
    assert "contains '..'" in s.read_only_reason
    assert s.project.edits[0].keyframes == []
    before = s.project_file.read_bytes()
    s.add_keyframe(s.project.edits[0].id, 2, np.full((H, W), 255, np.uint8))  # the user paints
    with pytest.raises(ProjectError, match="read-only"):
        s.save()
    assert s.project_file.read_bytes() == before


@pytest.mark.parametrize("bad_id", ["../../outside/x", "/abs/outside/x", "a/b", "", "x" * 65, "ünï"])
def test_an_edit_id_that_is_not_an_id_is_left_out(crafted, outside, bad_id):
    s = crafted(lambda d: first_edit(d).update(id=bad_id))
    assert s.read_only and s.project.edits == []
    assert "not a valid id" in s.read_only_reason


def test_a_bad_edit_id_that_gets_in_later_cannot_write(store, outside, tmp_path):
    store.project.insert_edit(Edit(id=str(outside / "x")))
    with pytest.raises(ProjectError, match="not a valid id"):
        store.track_dir(str(outside / "x"))
    with pytest.raises(ProjectError, match="not a valid id"):
        store.preview_dir(str(outside / "x"))
    with pytest.raises(ProjectError, match="not a valid id"):
        store.add_keyframe(str(outside / "x"), 1)
    assert store.project.edit(str(outside / "x")).keyframes == []


def test_a_resumed_plan_is_rebuilt_from_its_render_id(store, outside):
    edit = store.project.edits[0]
    render = store.prepare_render(edit.id)
    data = json.loads(store.project_file.read_text())
    first_edit(data)["renders"][0]["plan"].update(
        output_dir=str(outside / "x"),
        mask_dir=str(outside),
        source=str(outside / "secret.txt"),
        settings={"cache_dir": str(outside / "x")},
        keyframes=[{"frame": 2, "mask": str(outside / "victim.png")}],
    )
    store.project_file.write_text(json.dumps(data))
    s = open_project(store.folder)
    plan = s.render_plan(s.project.edits[0].renders[0])
    out = s.render_dir(render.id)
    assert plan.output_dir == str(out) and plan.mask_dir == str(out / "inputs" / "masks")
    assert plan.source == s.project.source.path and "cache_dir" not in plan.settings
    assert [k.mask for k in plan.keyframes] == [str(out / "inputs" / "masks" / "000002.png")]
    FlowEngine().propagate(plan, Recorder())  # resume it for real: frames land in the render folder
    assert s.rendered_frames(render.id) == list(range(6))


def test_a_mask_that_links_outside_is_never_hard_linked(store, outside):
    edit = store.project.edits[0]
    mask = store.mask_path(edit.id, 2)
    mask.unlink()
    mask.symlink_to(outside / "secret.txt")
    with pytest.raises(ProjectError, match="leads outside the project"):
        store.prepare_render(edit.id)
    assert (outside / "secret.txt").stat().st_nlink == 1
    assert not list(store.folder.glob("renders/*/inputs/masks/*"))


def test_a_render_id_that_is_not_an_id_is_left_out(store, crafted, outside):
    store.prepare_render(store.project.edits[0].id)
    s = crafted(lambda d: first_edit(d)["renders"][0].update(id=str(outside / "x")))
    assert s.read_only and s.project.edits[0].renders == []
    with pytest.raises(ProjectError):
        s.delete_render(str(outside / "x"))
    assert (outside / "x").is_dir()


def test_a_dotdot_render_id_never_reaches_export(store, crafted, outside):
    store.prepare_render(store.project.edits[0].id)
    (outside / "000001.png").write_bytes(b"x")  # what export would have composed
    s = crafted(lambda d: first_edit(d)["renders"][0].update(id="../../outside"))
    assert s.read_only and s.final_layers(1) == []
    with pytest.raises(ProjectError, match="not a valid id"):
        s.render_frame_path("../../outside", 1)
    (outside / "000001.png").unlink()


def test_a_render_folder_that_is_a_link_is_unlinked_not_emptied(store, outside):
    render = store.prepare_render(store.project.edits[0].id)
    folder = store.render_dir(render.id)
    os.rename(folder, store.folder / "cache" / "moved")
    folder.symlink_to(store.folder / "cache" / "moved")
    store.delete_render(render.id)
    assert not folder.is_symlink() and (store.folder / "cache" / "moved" / "inputs").is_dir()


@pytest.mark.parametrize("sub", ["masks", "backups", "renders", "keyframes", "cache"])
def test_a_project_folder_linked_outside_is_refused(store, outside, sub):
    target = store.folder / sub
    for p in sorted(target.rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    target.rmdir()
    target.symlink_to(outside / ("backups" if sub == "backups" else "x"))
    with pytest.raises(ProjectError, match=f"its {sub}/ folder is a link leading outside"):
        open_project(store.folder)


def test_backups_linked_inside_are_never_written_or_pruned(store):
    target = store.folder / "cache" / "bk"
    target.mkdir()
    (target / "project-19990101.json").write_text("{}")
    shutil.rmtree(store.folder / "backups")
    (store.folder / "backups").symlink_to(target)
    s = open_project(store.folder)
    warnings = []
    s.events.warned.connect(lambda ev: warnings.append(ev.message))
    s.save(backup=True)
    assert warnings and "backup could not be written" in warnings[0]
    assert [p.name for p in target.iterdir()] == ["project-19990101.json"]
    assert s.backups() == []


def test_settings_out_of_bounds_are_left_out(crafted):
    s = crafted(lambda d: first_edit(d).update(settings={"feather": 1e6, "dilate": 2}))
    assert s.read_only and "'feather' must be between 0 and 256" in s.read_only_reason
    assert s.project.edits[0].settings == {}


def test_a_cache_dir_in_edit_settings_is_left_out(crafted, outside):
    s = crafted(lambda d: first_edit(d).update(settings={"cache_dir": str(outside / "x"), "dilate": 2}))
    assert s.read_only and s.project.edits[0].settings == {"dilate": 2}


def test_keyframe_images_and_track_folders_outside_are_left_out(crafted, outside):
    def change(d):
        first_edit(d)["keyframes"][0]["image"] = str(outside / "victim.png")
        first_edit(d)["mask_track"] = {"folder": "masks/../../outside", "start": 0, "stop": 6}

    s = crafted(change)
    edit = s.project.edits[0]
    assert edit.keyframes[0].image is None and edit.mask_track is None
    assert "absolute path" in s.read_only_reason and "tracked masks folder" in s.read_only_reason


def test_a_stored_plan_that_does_not_validate_is_left_out(store, crafted):
    store.prepare_render(store.project.edits[0].id)
    s = crafted(lambda d: first_edit(d)["renders"][0]["plan"].update(stop=-5, feather=10**6))
    assert s.read_only and s.project.edits[0].renders == []
    assert "plan that is not valid" in s.read_only_reason


def test_a_symlink_loop_is_one_clear_error(store, crafted):
    edit_dir = store.folder / "masks" / store.project.edits[0].id
    for p in edit_dir.iterdir():
        p.unlink()
    edit_dir.rmdir()
    edit_dir.symlink_to(edit_dir)
    s = open_project(store.folder)
    assert s.read_only and "cannot be resolved" in s.read_only_reason
    (store.folder / "project.json").unlink()
    (store.folder / "project.json").symlink_to(store.folder / "project.json")
    with pytest.raises(ProjectError, match="cannot be read"):
        open_project(store.folder)


def test_a_read_only_project_is_never_autosaved(crafted):
    s = crafted(lambda d: first_edit(d).update(id="../x"))
    before = s.project_file.read_bytes()
    s.project.add_edit(task="delete")
    saver = Autosaver(s, delay_s=0.01, max_delay_s=0.02).start()
    saver.stop()
    assert saver.saves == 0 and s.project_file.read_bytes() == before


def test_a_clean_project_opens_writable(store):
    s = open_project(store.folder)
    assert not s.read_only and s.read_only_reason == "" and isinstance(s, ProjectStore)


def test_the_trainer_reads_a_crafted_project_without_its_bad_entries(store, outside):
    from vivid_desktop.datasets.project import project_samples

    edit = store.project.edits[0]
    store.add_keyframe(edit.id, 4)
    store.save()
    data = json.loads(store.project_file.read_text())
    first_edit(data)["keyframes"][0]["mask"] = "../outside/victim.png"
    store.project_file.write_text(json.dumps(data))
    specs, problems = project_samples(store.folder)
    assert [p.message for p in problems if "left out" in p.message] == [
        "left out: edit 'Edit 1': the keyframe at frame 2 has the mask '../outside/victim.png' contains '..'"
    ]
    assert specs and all(Path(s.mask).is_relative_to(store.folder) for s in specs)


def test_a_crafted_project_name_never_places_the_exchange_file_outside(crafted, outside):
    s = crafted(lambda d: d.update(name="../../outside/x/../victim"))
    path = s.exchange_file(s.project.edits[0].id, 2)
    assert path.parent == s.folder / "exchange" and path.name.endswith(f"-{s.project.edits[0].id}-000002.png")
    assert not s.read_only  # the name is free text: only its use as a file name is made safe


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("source", "width"), 10**9),
        (("source", "frame_count"), 10**12),
        (("edits", 0, "seed"), 2**80),
        (("edits", 0, "keyframes", 0, "frame"), 10**15),
        (("settings", "backups"), 10**9),
    ],
)
def test_absurd_numbers_in_project_json_are_refused_by_name(store, crafted, where, value):
    def change(data):
        target = data
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value

    with pytest.raises(ProjectError, match=rf"is damaged: {'.'.join(map(str, where))}: Input should be less"):
        crafted(change)
