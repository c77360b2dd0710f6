"""The project folder: golden format, round trips, upgrades, refusals, atomic saves, backups, relink."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vivid_desktop.core import store as store_mod
from vivid_desktop.core.files import fingerprint, read_png
from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.store import UPGRADERS, ProjectStore, create_project, open_project

HEIGHT, WIDTH = 48, 64  # the conftest's project
GOLDEN = Path(__file__).parent / "golden" / "project_1.json"


def _golden_folder(tmp_path: Path, data: dict | None = None) -> Path:
    folder = tmp_path / "street.vivid"
    folder.mkdir()
    if data is None:
        shutil.copy(GOLDEN, folder / "project.json")
    else:
        (folder / "project.json").write_text(json.dumps(data))
    return folder


def test_golden_project_1_loads_and_writes_back_the_same_format(tmp_path):
    store = open_project(_golden_folder(tmp_path))
    p = store.project
    assert p.name == "street" and p.source.rate == Fraction(30000, 1001) and p.source.stop == 250
    remove, car = p.edits
    assert (remove.task, remove.engine, car.enabled, car.seed) == ("delete", "flow", False, 42)
    assert [k.frame for k in remove.keyframes] == [12, 120]
    assert remove.keyframes[1].image == "keyframes/remove0001/000120.png"
    assert remove.mask_track is not None and remove.mask_track.stop == 250
    render = remove.renders[0]
    assert (render.status, render.frames_done, render.created_at.year) == ("done", 240, 2025)
    assert render.render_plan().caption.startswith("remove objects")
    # Every field survives: the text the model writes is the golden text.
    assert json.loads(p.to_json()) == json.loads(GOLDEN.read_text())


def test_round_trip_with_masks_and_keyframe_images(store: ProjectStore):
    p = store.project
    a = p.add_edit(task="delete", name="Remove")
    b = p.add_edit(task="add", caption="a bird", engine="vivid")
    p.set_edit_setting(b.id, "guidance", 6.5)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[5:20, 10:30] = 255
    store.add_keyframe(a.id, 7, mask)
    store.add_keyframe(b.id, 30)
    image = np.random.default_rng(1).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    store.write_keyframe_image(b.id, 30, image)
    p.set_range(5, 100)
    store.save()

    again = open_project(store.folder.with_suffix(""))  # "clip" finds "clip.vivid"
    assert again.folder == store.folder
    assert again.project == p
    assert again.project.source.rate == Fraction(30000, 1001)
    assert np.array_equal(again.read_mask(a.id, 7), mask)
    assert not again.read_mask(b.id, 30).any()
    assert np.array_equal(again.read_keyframe_image(b.id, 30), image)
    assert json.loads(store.project_file.read_text())["schema"] == "Project.1"


def test_a_newer_project_is_refused_and_left_untouched(tmp_path):
    data = json.loads(GOLDEN.read_text())
    data.update(schema="Project.7", written_by="vivid-desktop 3.0.0", future_field={"x": 1})
    folder = _golden_folder(tmp_path, data)
    before = (folder / "project.json").read_bytes()
    mtime = (folder / "project.json").stat().st_mtime_ns
    with pytest.raises(ProjectError, match=r"saved by vivid-desktop 3\.0\.0.*Project\.7.*Update"):
        open_project(folder)
    assert (folder / "project.json").read_bytes() == before
    assert (folder / "project.json").stat().st_mtime_ns == mtime
    assert sorted(p.name for p in folder.iterdir()) == ["project.json"]


def test_step_wise_upgrade_from_an_older_schema(tmp_path, monkeypatch):
    """Project.0 here is a test format (rate as two integers, no schema'd settings) upgraded by a
    registered step; the mechanism is what real upgraders will use."""
    old = json.loads(GOLDEN.read_text())
    old["schema"] = "Project.0"
    num, den = old["source"].pop("rate").split("/")
    old["source"]["rate_num"], old["source"]["rate_den"] = int(num), int(den)
    del old["settings"]
    folder = _golden_folder(tmp_path, old)
    original = (folder / "project.json").read_bytes()

    with pytest.raises(ProjectError, match=r"Project\.0 can no longer be opened"):
        open_project(folder)

    def zero_to_one(d: dict) -> dict:
        src = dict(d["source"])
        src["rate"] = f"{src.pop('rate_num')}/{src.pop('rate_den')}"
        return {**d, "schema": "Project.1", "source": src, "settings": {"proxy": False}}

    monkeypatch.setitem(UPGRADERS, "Project.0", zero_to_one)
    store = open_project(folder)
    assert store.project.source.rate == Fraction(30000, 1001)
    assert store.project.settings.proxy is False
    assert (folder / "project.json").read_bytes() == original  # opening never rewrites
    assert (folder / "backups" / "before-upgrade-from-Project.0.json").read_bytes() == original
    store.save()
    assert json.loads((folder / "project.json").read_text())["schema"] == "Project.1"

    monkeypatch.setitem(UPGRADERS, "Project.0", lambda d: d)  # forgets to bump the schema
    (folder / "project.json").write_bytes(original)
    with pytest.raises(ProjectError, match=r"did not produce Project\.1"):
        open_project(folder)


def test_unreadable_projects_say_why(tmp_path, store: ProjectStore):
    with pytest.raises(ProjectError, match="not a VIVID project"):
        open_project(tmp_path / "nothing.vivid")
    store.save(backup=True)
    store.project_file.write_text('{"schema": "Project.1", "name": ')
    with pytest.raises(ProjectError, match=r"cannot be read.*newest backup is"):
        open_project(store.folder)
    store.project_file.write_text('{"schema": "Project.1", "name": "x", "source": {"path": 3}}')
    with pytest.raises(ProjectError, match="damaged: source"):
        open_project(store.folder)
    store.project_file.write_text('{"schema": "Timeline.1"}')
    with pytest.raises(ProjectError, match="not a VIVID project file"):
        open_project(store.folder)
    with pytest.raises(ProjectError, match="already holds a project"):
        create_project(store.folder, store.project.source.path, width=8, height=8, rate=25, frame_count=1)


def test_a_failed_rename_leaves_the_previous_project(store: ProjectStore, monkeypatch):
    store.project.set_name("first")
    store.save()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    store.project.set_name("second")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ProjectError, match=r"could not save.*No space left"):
        store.save()
    monkeypatch.undo()
    assert open_project(store.folder).project.name == "first"
    assert [p.name for p in store.folder.iterdir() if p.name.endswith(".tmp")] == []
    assert store.dirty  # still unsaved: the next save writes it
    store.save()
    assert open_project(store.folder).project.name == "second"


def test_killing_the_process_mid_save_never_breaks_the_project(store: ProjectStore):
    """A child saves a big project in a loop and is killed at a random moment, three times."""
    script = textwrap.dedent(
        """
        import sys
        from vivid_desktop.core.store import open_project
        store = open_project(sys.argv[1])
        for i in range(30):
            store.project.add_edit(caption="x" * 20000, settings={"blob": list(range(3000))})
        store.backup_interval_s = 1e9
        print("ready", flush=True)
        i = 0
        while True:
            i += 1
            store.project.set_name(f"name {i}")
            store.save()
        """
    )
    root = Path(__file__).resolve().parents[2]
    rng = np.random.default_rng(3)
    names = []
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", script, str(store.folder)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            time.sleep(0.2 + 0.3 * rng.random())
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        reopened = open_project(store.folder)  # always a whole project: old or new, never half
        names.append(reopened.project.name)
        assert len(reopened.project.edits) % 30 == 0
    assert any(n.startswith("name ") for n in names), names  # the child really was saving


def test_backups_ring_keeps_the_last_n(store: ProjectStore):
    store.project.set_setting("backups", 3)
    store.backup_interval_s = 0
    for i in range(6):
        store.project.set_name(f"v{i}")
        store.save()
        time.sleep(0.002)  # distinct time stamps in the names
    backups = store.backups()
    assert len(backups) == 3
    assert [json.loads(b.read_text())["name"] for b in backups] == ["v5", "v4", "v3"]
    store.backup_interval_s = 3600  # an autosave soon after does not add one
    store.project.set_name("v6")
    store.save()
    assert len(store.backups()) == 3 and store.backups()[0] == backups[0]
    store.save(backup=True)
    assert json.loads(store.backups()[0].read_text())["name"] == "v6"


def test_relink_finds_the_moved_clip_and_refuses_another(
    tmp_path, store: ProjectStore, source: Path, make_source
):
    moved = tmp_path / "elsewhere" / "deep" / "renamed.mp4"
    moved.parent.mkdir(parents=True)
    source.rename(moved)
    make_source(tmp_path / "elsewhere" / "other.mp4", size=source_size(moved), seed=9)  # same size
    assert store.source_missing()
    assert store.search_source([tmp_path / "elsewhere"]) == moved
    with pytest.raises(ProjectError, match="not the project's source"):
        store.relink(tmp_path / "elsewhere" / "other.mp4")
    with pytest.raises(ProjectError, match="cannot read"):
        store.relink(tmp_path / "nope.mp4")
    assert store.project.source.path == str(source)
    store.relink(moved)
    assert store.project.source.path == str(moved) and not store.source_missing()
    store.save()
    assert open_project(store.folder).project.source.path == str(moved)


def source_size(path: Path) -> int:
    return path.stat().st_size


def test_fingerprint_is_content_based_and_reads_little_of_big_files(tmp_path, make_source, monkeypatch):
    big = make_source(tmp_path / "a.bin", size=24 << 20, seed=1)
    copy = tmp_path / "b.bin"
    shutil.copy(big, copy)
    fp = fingerprint(big)
    assert fp == fingerprint(copy) and fp.startswith(f"v1:{24 << 20}:")
    with open(copy, "r+b") as f:  # one byte changed in the head
        f.seek(100)
        f.write(bytes([(big.read_bytes()[100] + 1) % 256]))
    assert fingerprint(copy) != fp
    read = _count_reads(monkeypatch)
    assert fingerprint(big) == fp
    assert 0 < read["bytes"] < 3 << 20  # reads ~2.6 MB, not 24 MB


@pytest.mark.perf
def test_fingerprint_of_a_big_file_is_fast(tmp_path, make_source):
    big = make_source(tmp_path / "a.bin", size=24 << 20, seed=1)
    t = time.perf_counter()
    for _ in range(20):
        fingerprint(big)
    assert (time.perf_counter() - t) / 20 < 0.05


def _count_reads(monkeypatch) -> dict[str, int]:
    """Counts the bytes ``vivid_desktop.core.files`` reads through ``open``."""
    import vivid_desktop.core.files as files_module

    read = {"bytes": 0}
    real_open = open

    class Counting:
        def __init__(self, f) -> None:
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.f.close()

        def read(self, n: int = -1) -> bytes:
            data = self.f.read(n)
            read["bytes"] += len(data)
            return data

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(files_module, "open", lambda *a, **k: Counting(real_open(*a, **k)), raising=False)
    return read


def test_masks_are_written_atomically_and_saved_with_the_project(store: ProjectStore):
    e = store.project.add_edit()
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[1:4, 2:9] = 200
    store.add_keyframe(e.id, 3, mask)
    path = store.mask_path(e.id, 3)
    assert not path.exists() and store.dirty
    assert np.array_equal(store.read_mask(e.id, 3), mask)  # painted pixels before the save
    store.save()
    assert np.array_equal(read_png(path), mask) and not store.dirty
    assert [p for p in path.parent.iterdir() if p.suffix == ".tmp"] == []
    with pytest.raises(ProjectError, match="must be uint8"):
        store.set_mask(e.id, 3, np.zeros((HEIGHT, WIDTH + 1), np.uint8))


def test_store_module_exports():
    assert store_mod.SCHEMA == "Project.1" and callable(store_mod.fingerprint)


def test_mask_cache_keeps_dirty_masks_and_few_clean_ones():
    from vivid_desktop.core.mask_cache import MaskCache

    cache = MaskCache(clean_limit=2)
    masks = {i: np.full((4, 4), i, np.uint8) for i in range(6)}
    cache.put(("e", 0), masks[0])  # dirty: never evicted
    for i in range(1, 6):
        cache.put(("e", i), masks[i], dirty=False)
    assert cache.get(("e", 0)) is not None and cache.get(("e", 1)) is None and cache.get(("e", 5)) is not None
    taken = cache.take_dirty()
    assert [k for k, _ in taken] == [("e", 0)] and not cache.has_dirty
    cache.return_dirty(taken)  # the write failed
    assert cache.has_dirty and cache.get(("e", 0))[0, 0] == 0
    got = cache.get(("e", 5))
    got[:] = 7  # callers get copies
    assert cache.get(("e", 5))[0, 0] == 5


def test_a_late_file_read_never_replaces_unsaved_paint():
    """A worker that read the (blank) mask file before the user painted puts it in the cache after the
    stroke: the painted pixels stay (the brush-stroke GUI tests lost whole strokes to this race)."""
    from vivid_desktop.core.mask_cache import MaskCache

    cache = MaskCache()
    painted = np.full((4, 4), 255, np.uint8)
    cache.put(("e", 5), painted)  # the stroke, not saved yet
    cache.put(("e", 5), np.zeros((4, 4), np.uint8), dirty=False)  # the worker's late read of the file
    assert cache.get(("e", 5)).min() == 255
    ((key, _saved),) = cache.take_dirty()  # saved: a later read of the file may refresh it again
    cache.put(key, np.full((4, 4), 9, np.uint8), dirty=False)
    assert cache.get(("e", 5))[0, 0] == 9


def test_saving_after_removing_an_edit_with_unsaved_paint(store: ProjectStore):
    edit = store.project.add_edit()
    store.add_keyframe(edit.id, 1, np.full((HEIGHT, WIDTH), 255, np.uint8))
    store.project.remove_edit(edit.id)  # undo may bring it back: its mask is still written
    store.save()
    assert read_png(store.folder / "masks" / edit.id / "000001.png").min() == 255


def test_search_source_looks_next_to_the_project_by_default(tmp_path, store: ProjectStore, source: Path):
    moved = tmp_path / "footage" / "clip.mp4"
    moved.parent.mkdir()
    source.rename(moved)
    assert store.search_source() == moved
    moved.unlink()
    assert store.search_source() is None
