"""The trainer tab: the sample table, presets, and a real training run in a runtime subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from trainer_helpers import broken_dataset, good_dataset

from vivid_desktop.core.files import write_png
from vivid_desktop.core.project import Project, SourceClip
from vivid_desktop.datasets import DatasetError, Problem, problems_from_failure
from vivid_desktop.protocol.messages import RuntimeFacts
from vivid_desktop.qt.runtime_bridge import QtRuntime
from vivid_desktop.qt.trainer_run import LossPoint, LossTail, ValLossPoint
from vivid_desktop.qt.trainer_tab import TrainerTab, add_lora_to_edit
from vivid_desktop.qt.trainer_widgets import LossPlot
from vivid_desktop.train_presets import PRESETS, gpu_memory_gb, preset_for_memory

TINY = dict(rank=4, width=32, height=32, num_frames=5, learning_rate=2e-3, gradient_checkpointing=False)


@pytest.fixture
def tab(qtbot, relay):
    """A trainer tab with a runtime that is not started (the data and settings views need none)."""
    runtime = QtRuntime(relay)
    t = TrainerTab(runtime, relay)
    qtbot.addWidget(t)
    yield t
    t.shutdown()
    runtime.stop()


def scanned(qtbot, tab: TrainerTab, path: Path, source: str = "folder") -> None:
    tab.set_dataset(str(path), source)
    qtbot.waitUntil(lambda: tab.summary is not None, timeout=10000)


def problems_by_name(tab: TrainerTab) -> dict[str, str]:
    return {row.name: "; ".join(row.problems) for row in tab.table.rows}


def test_sample_table_flags_broken_samples(qtbot, tab, tmp_path):
    tab.set_model(str(tmp_path))
    tab.settings.set_values({"num_frames": 13})
    scanned(qtbot, tab, broken_dataset(tmp_path / "data"))
    found = problems_by_name(tab)
    assert found["good.png"] == ""
    assert "too few frames: 9 usable, a video sample needs 13" in found["clip.mp4"]
    assert "missing mask" in found["nomask.png"]
    assert "size mismatch" in found["wrongsize.png"] and "12×10" in found["wrongsize.png"]
    assert "missing caption file nocaption.txt" in found["nocaption.png"]
    assert "a mask without a clip or image called orphan" in found["orphan.mask.png"]
    assert "unreadable" in found["unreadable.png"]
    # the flagged rows are painted and carry a thumbnail when their picture can be read
    flagged = tab.table.problem_rows()
    assert len(flagged) == 6
    assert tab.table.item(flagged[0], 6).background().color().name() == "#4a2328"
    assert tab.table.rows[0].thumbnail is not None and tab.table.rows[0].thumbnail.shape[2] == 3
    assert not tab.start_button.isEnabled() and "with problems" in tab.data_summary.text()
    # with fewer frames per video sample the clip is fine; the rest stays broken
    tab.settings.set_values({"num_frames": 5})
    qtbot.waitUntil(
        lambda: tab.summary is not None and problems_by_name(tab).get("clip.mp4") == "", timeout=10000
    )
    assert len(tab.table.rows) == 7
    assert tab.summary.samples == 2 and tab.summary.videos == 1 and tab.summary.problems == 5


def test_records_and_project_sources(qtbot, tab, tmp_path):
    data = good_dataset(tmp_path / "data")
    lines = [
        {"id": "ok", "image": "img0.png", "mask": "img0.mask.png", "caption": "a ball", "task": "add"},
        {"id": "short", "video": "clip0.mp4", "mask": "clip0.mask", "caption": "a ball", "start": 6},
        {"id": "val", "image": "img1.png", "mask": "img1.mask.png", "caption": "x", "split": "validation"},
        {"id": "bad", "image": "img2.png"},
    ]
    records = data / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in lines))
    tab.settings.set_values({"num_frames": 5})
    scanned(qtbot, tab, records, "records")
    found = problems_by_name(tab)
    assert found["ok"] == "" and found["val"] == ""
    assert "too few frames: 3 usable" in found["short"]
    assert "not a valid record" in found["bad"]
    assert [r.role for r in tab.table.rows if r.name == "val"] == ["validation"]
    # a project without a usable edit names the project
    project = tmp_path / "p.vivid"
    project.mkdir()
    clip = data / "clip0.mp4"
    p = Project(name="p", source=SourceClip(path=str(clip), fingerprint="x", width=32, height=32, rate="24",
                                            frame_count=9))  # fmt: skip
    (project / "project.json").write_text(p.to_json())
    tab.set_project(str(project))
    scanned(qtbot, tab, project, "project")
    assert "no edit has a caption with a mask" in problems_by_name(tab)["p"]
    # an edit with a caption and a keyframe: the frame trains, the keyframe validates
    edit = p.add_edit(task="modify", caption="a red ball", name="ball")
    kf = p.add_keyframe(edit.id, 2)
    write_png(project.joinpath(*kf.mask.split("/")), np.full((32, 32), 255, np.uint8))
    p.add_keyframe(edit.id, 4, mask="masks/missing.png")
    (project / "project.json").write_text(p.to_json())
    tab.rescan()
    qtbot.waitUntil(lambda: tab.summary is not None, timeout=10000)
    found = problems_by_name(tab)
    assert found["ball · frame 2"] == "" and found["ball · keyframe 2"] == ""
    assert "missing mask missing.png" in found["ball · frame 4"]
    assert tab.table.rows[0].thumbnail is not None
    assert tab.output_edit.text() == str(project / "loras" / "p-lora.safetensors")


def test_runtime_problem_list_is_read_back(qtbot, tab, tmp_path):
    scanned(qtbot, tab, broken_dataset(tmp_path / "data"))
    error = DatasetError([Problem("good.png", "the runtime says: too dark"), Problem("x: y", "z")], "data")
    problems = problems_from_failure(error.message)
    assert problems[0] == ("good.png", "the runtime says: too dark")
    assert tab.table.flag(problems) == 1
    assert "too dark" in problems_by_name(tab)["good.png"]


def test_presets_fill_the_settings(qtbot, tab):
    form = tab.settings
    form.apply_preset("48 GB")
    values = form.values()
    assert (values["rank"], values["batch_size"], values["train_ff"]) == (128, 2, True)
    assert (values["width"], values["height"], values["num_frames"]) == (720, 480, 49)
    assert "Batch" in form.implies.text() and "<b>2</b>" in form.implies.text()
    form.batch_size.setValue(3)
    assert form.preset_name() == "Custom"
    form.batch_size.setValue(2)
    assert form.preset_name() == "48 GB"  # back to exactly the preset's settings
    tab.set_gpu_memory(79.2)  # an "80 GB" card reports a little less
    assert form.preset_name() == "80 GB" and form.values()["batch_size"] == 4
    assert preset_for_memory(None) is PRESETS[0] and preset_for_memory(12).name == "24 GB"
    assert preset_for_memory(47.5).name == "48 GB"
    assert gpu_memory_gb([{"memory_bytes": 24 * 2**30}, {"memory_bytes": 48 * 2**30}]) == 48
    assert tab.request().rank == 128 and tab.request().batch_size == 4
    # the variant and the val_loss interval are fields of the request like the others
    assert tab.request().variant == "standard" and tab.request().val_loss_every == 100
    form.variant.setCurrentIndex(form.variant.findData("kive"))
    form.set_values({"val_loss_every": 20})
    assert tab.request().variant == "kive" and tab.request().val_loss_every == 20
    assert form.preset_name() == "80 GB"  # neither is part of a preset


def test_defaults_follow_the_machine(qtbot, relay):
    """A runtime without a GPU gets the CPU preset, one with a GPU the preset for its memory."""
    for gpus, expected in (([], "CPU"), ([{"name": "x", "memory_bytes": int(23.6 * 2**30)}], "24 GB")):
        runtime = QtRuntime(relay)
        t = TrainerTab(runtime, relay)
        qtbot.addWidget(t)
        try:
            runtime.factsReady.emit(RuntimeFacts(torch="2", gpus=gpus))
            assert t.settings.preset_name() == expected
            if expected == "CPU":
                assert t.request().height <= 240 and t.request().num_frames == 9
        finally:
            t.shutdown()
            runtime.stop()


def _append(path: Path, *entries: dict) -> None:
    with open(path, "a") as f:
        f.writelines(json.dumps(e) + "\n" for e in entries)


def test_val_loss_is_its_own_series_in_the_plot(qtbot, tmp_path):
    log = tmp_path / "loss.jsonl"
    tail, plot = LossTail(log), LossPlot()
    qtbot.addWidget(plot)
    _append(log, {"step": 0, "val_loss": 0.9, "samples": 2}, *({"step": s, "loss": 1.0 / s} for s in (1, 2)))
    reset, points = tail.read()
    assert not reset and points[0] == ValLossPoint(0, 0.9) and points[1] == LossPoint(1, 1.0, 0.0)
    plot.add_points(points)
    # a read between a step's loss and its val_loss record continues (no false "log rewritten")
    _append(log, {"step": 2, "val_loss": 0.7, "samples": 2})
    reset, points = tail.read()
    assert (reset, points) == (False, [ValLossPoint(2, 0.7)])
    plot.add_points(points)
    assert plot.steps == [1, 2] and plot.val_steps == [0, 2]
    x, y = plot.val.getData()
    assert list(x) == [0, 2] and list(y) == pytest.approx([0.9, 0.7])
    assert list(plot.raw.getData()[0]) == [1, 2]  # the training curve holds training steps only
    legend = [label.text for _item, label in plot.plot.getPlotItem().legend.items]
    assert legend == ["loss", "average", "val_loss"]
    # a resumed run cuts the log back: the tail starts over, the plot is rebuilt from the top
    log.write_text(json.dumps({"step": 0, "val_loss": 0.9}) + "\n")
    reset, points = tail.read()
    assert reset and points == [ValLossPoint(0, 0.9)]


def test_use_this_lora_updates_the_edit(tmp_path):
    p = Project(name="p", source=SourceClip(path="c.mp4", fingerprint="x", width=8, height=8, rate="24",
                                            frame_count=9))  # fmt: skip
    edit = p.add_edit(task="modify", caption="a cat")
    add_lora_to_edit(p, edit.id, "/x/a.safetensors", 0.5)
    add_lora_to_edit(p, edit.id, "/x/b.safetensors", 1.0)
    add_lora_to_edit(p, edit.id, "/x/a.safetensors", 0.8)  # the same file again: replaced, not doubled
    loras = p.edit(edit.id).settings["loras"]
    assert loras == [{"path": "/x/b.safetensors", "weight": 1.0, "name": "b"},
                     {"path": "/x/a.safetensors", "weight": 0.8, "name": "a"}]  # fmt: skip


def test_train_stop_resume_and_use_lora(qtbot, relay, model, tmp_path):
    runtime = QtRuntime(relay)
    runtime.start()
    tab = TrainerTab(runtime, relay)
    qtbot.addWidget(tab)
    try:
        _train_stop_resume(qtbot, tab, runtime, model, tmp_path)
    finally:
        tab.shutdown()
        runtime.stop()


def _train_stop_resume(qtbot, tab: TrainerTab, runtime: QtRuntime, model: Path, tmp_path: Path) -> None:
    c = tab.controller
    tab.set_model(str(model))
    tab.settings.set_values(
        {**TINY, "steps": 400, "checkpoint_every": 2, "validate_every": 2, "val_loss_every": 2}
    )
    tab.output_edit.setText(str(tmp_path / "mine.safetensors"))
    scanned(qtbot, tab, good_dataset(tmp_path / "data"))
    assert tab.summary.ok and tab.summary.validation == 1
    qtbot.waitUntil(lambda: runtime.is_ready, timeout=30000)
    assert tab.start_button.isEnabled() and not tab.use_button.isEnabled()

    tab.start_button.click()
    # loss points reach the plot, a validation render shows, a checkpoint is listed
    qtbot.waitUntil(lambda: tab.gallery.count() >= 1 and len(c.checkpoints) >= 1, timeout=60000)
    qtbot.waitUntil(lambda: len(tab.plot.steps) >= 2, timeout=10000)
    assert tab.gallery.steps()[-1] == 2 and Path(tab.gallery.item(0).toolTip()).is_file()
    assert not tab.gallery.item(0).icon().isNull()
    assert c.checkpoints[0].step == 2 and c.checkpoints[0].loss is not None
    assert tab.stop_button.isEnabled() and not tab.start_button.isEnabled()

    tab.stop_button.click()
    qtbot.waitUntil(lambda: c.state == "stopped", timeout=30000)
    qtbot.waitUntil(lambda: not c._reading, timeout=5000)
    stopped_at = c.checkpoints[-1].step
    assert 2 <= stopped_at < 400, "stop must end the run early, with a checkpoint"
    assert tab.plot.steps == list(range(1, stopped_at + 1))
    assert tab.resume_button.isEnabled() and not tab.use_button.isEnabled()
    assert tab.checkpoint_list.item(0).text().startswith(f"step {stopped_at}")

    tab.settings.set_values({"steps": stopped_at + 3})
    tab.resume_button.click()
    qtbot.waitUntil(lambda: c.state in ("finished", "failed"), timeout=60000)
    assert c.state == "finished", tab.status.text()
    qtbot.waitUntil(lambda: tab.plot.steps[-1:] == [stopped_at + 3], timeout=5000)
    # the last val_loss record follows the last loss line: wait for the read after the job ended
    qtbot.waitUntil(lambda: tab.plot.val_steps[-1:] == [stopped_at + 3], timeout=5000)
    # the curve continues where it stopped: every step once
    assert tab.plot.steps == list(range(1, stopped_at + 4))
    # val_loss at step 0, every 2 steps and at the last, each once, as its own series
    expected = sorted({*range(0, stopped_at + 3, 2), stopped_at + 3})
    assert tab.plot.val_steps == expected and all(np.isfinite(tab.plot.val_losses))
    assert tab.use_button.isEnabled()
    with qtbot.waitSignal(tab.useLora, timeout=2000) as used:
        tab.weight.setValue(0.7)
        tab.use_button.click()
    assert used.args == [str(tmp_path / "mine.safetensors"), pytest.approx(0.7)]
    assert Path(used.args[0]).is_file()
