"""Undo: strokes, transactions, merged drags, limits, and the project recorder."""

from __future__ import annotations

import time

import numpy as np
import pytest

from vivid_desktop.core import masks as M
from vivid_desktop.core.painter import MaskPainter
from vivid_desktop.core.store import ProjectStore
from vivid_desktop.core.undo import CallbackAction, MaskEdit, ProjectRecorder, UndoLog


@pytest.fixture
def log(store: ProjectStore) -> UndoLog:
    log = UndoLog()
    ProjectRecorder(store.project, log)
    return log


def _painter(store: ProjectStore, log: UndoLog) -> tuple[MaskPainter, str]:
    edit = store.project.add_edit()
    store.add_keyframe(edit.id, 10)
    log.clear()
    painter = MaskPainter(store, log)
    painter.set_target(edit.id, 10)
    return painter, edit.id


def test_one_stroke_is_one_step_and_undo_redo_restore_pixels(store: ProjectStore, log: UndoLog):
    painter, eid = _painter(store, log)
    painter.set_brush(radius=4, hardness=1.0)
    repaint = []
    painter.events.mask_changed.connect(lambda ev: repaint.append(ev.box))
    painter.begin_stroke()
    for x in range(10, 40, 3):
        painter.stroke_to(x, 20)
    painter.end_stroke()
    after = painter.mask.copy()
    assert log.steps == ["Brush stroke"] and log.undo_label == "Undo Brush stroke"
    assert np.array_equal(store.read_mask(eid, 10), after) and after.any()
    step = log._undo[0]
    assert step.nbytes < after.nbytes // 4  # only the stroke's box is kept
    assert all(b is None or b.area < after.size for b in repaint)

    painter.begin_stroke(erase=True)
    painter.stroke_to(20, 20)
    painter.end_stroke()
    assert log.steps == ["Brush stroke", "Eraser stroke"] and painter.mask[20, 20] == 0

    assert log.undo() and painter.mask[20, 20] == 255 and np.array_equal(painter.mask, after)
    assert log.undo() and not painter.mask.any() and not store.read_mask(eid, 10).any()
    assert not log.can_undo and log.redo_label == "Redo Brush stroke"
    assert log.redo() and np.array_equal(painter.mask, after)
    assert np.array_equal(store.read_mask(eid, 10), after)


def test_tools_are_steps_and_a_no_op_records_nothing(store: ProjectStore, log: UndoLog):
    painter, _ = _painter(store, log)
    painter.apply(M.fill_rect, "Rectangle", 5, 5, 25, 15)
    painter.apply(M.feather, "Feather", 3)
    painter.apply(M.clear, "Clear")
    painter.apply(M.clear, "Clear")  # nothing changed: no step
    assert log.steps == ["Rectangle", "Feather", "Clear"]
    log.undo()
    log.undo()
    assert int((painter.mask == 255).sum()) == 20 * 10


def test_painting_on_a_plain_frame_makes_it_a_keyframe_in_the_same_step(store: ProjectStore, log: UndoLog):
    painter, eid = _painter(store, log)
    painter.apply(M.fill_rect, "Rectangle", 0, 0, 10, 10)  # keyframe 10
    painter.set_target(eid, 30)  # no keyframe: shows the nearest keyframe's mask
    assert int((painter.mask == 255).sum()) == 100 and not painter.is_keyframe
    painter.begin_stroke()
    painter.stroke_to(40, 40)
    painter.end_stroke()
    assert [k.frame for k in store.project.edit(eid).keyframes] == [10, 30]
    assert log.steps == ["Rectangle", "Brush stroke"]
    log.undo()
    assert [k.frame for k in store.project.edit(eid).keyframes] == [10]
    log.redo()
    assert [k.frame for k in store.project.edit(eid).keyframes] == [10, 30]
    assert store.read_mask(eid, 30)[40, 40] == 255 and store.read_mask(eid, 30)[5, 5] == 255


def test_a_slider_drag_merges_into_one_step(store: ProjectStore, log: UndoLog):
    edit = store.project.add_edit(settings={"strength": 0.1})
    for i in range(1, 21):
        with log.transaction("Strength", merge_key=(edit.id, "strength")):
            store.project.set_edit_setting(edit.id, "strength", i / 20)
    assert log.steps == ["Add edit", "Strength"]
    log.break_merge()  # the slider was released
    with log.transaction("Strength", merge_key=(edit.id, "strength")):
        store.project.set_edit_setting(edit.id, "strength", 0.3)
    assert log.steps == ["Add edit", "Strength", "Strength"]
    log.undo()
    assert store.project.edit(edit.id).settings["strength"] == 1.0
    log.undo()
    assert store.project.edit(edit.id).settings["strength"] == 0.1
    log.redo()
    assert store.project.edit(edit.id).settings["strength"] == 1.0
    # A pause longer than the merge timeout also starts a new step.
    log.merge_timeout_s = 0.05
    with log.transaction("Caption", merge_key="typing"):
        store.project.set_caption(edit.id, "a")
    time.sleep(0.1)
    with log.transaction("Caption", merge_key="typing"):
        store.project.set_caption(edit.id, "ab")
    assert log.steps[-2:] == ["Caption", "Caption"]


def test_a_transaction_of_several_changes_is_one_step(store: ProjectStore, log: UndoLog):
    p = store.project
    with log.transaction("New edit from template"):
        edit = p.add_edit(task="add")
        p.set_caption(edit.id, "a balloon")
        p.set_engine(edit.id, "vivid")
        p.add_keyframe(edit.id, 4)
        with log.transaction("inner"):  # nested: joins the outer step
            p.rename_edit(edit.id, "Balloon")
    assert log.steps == ["New edit from template"]
    snapshot = p.model_dump()
    log.undo()
    assert p.edits == []
    log.redo()
    assert p.model_dump() == snapshot and p.edits[0].id == edit.id


def test_a_failing_transaction_rolls_back(store: ProjectStore, log: UndoLog):
    p = store.project
    edit = p.add_edit(caption="before")
    with pytest.raises(RuntimeError), log.transaction("Broken"):
        p.set_caption(edit.id, "during")
        p.add_keyframe(edit.id, 3)
        raise RuntimeError("tool crashed")
    assert p.edit(edit.id).caption == "before" and p.edit(edit.id).keyframes == []
    assert log.steps == ["Add edit"]


def test_recorder_inverts_structure_changes(store: ProjectStore, log: UndoLog):
    p = store.project
    a, b, c = (p.add_edit(name=n) for n in "abc")
    p.add_keyframe(b.id, 7)
    p.move_edit(c.id, 0)
    p.remove_edit(a.id)
    p.remove_keyframe(b.id, 7)
    p.set_range(3, 50)
    p.set_task(b.id, "delete")
    render = p.add_render(
        b.id, {"source": "/c.mp4", "start": 0, "stop": 5, "task": "add", "output_dir": "/o"}
    )
    p.set_render_status(render.id, "running", frames_done=2)  # renders are facts, not history
    assert log.steps[-6:] == [
        "Add keyframe",
        "Move edit",
        "Delete edit",
        "Remove keyframe",
        "Set in/out",
        "Change task",
    ]
    for _ in range(6):
        log.undo()
    assert [e.name for e in p.edits] == ["a", "b", "c"] and p.edit(b.id).task == "modify"
    assert p.edit(b.id).keyframes == [] and p.source.in_frame == 0
    while log.redo():
        pass
    assert [e.name for e in p.edits] == ["c", "b"] and (p.source.in_frame, p.source.out_frame) == (3, 50)


def test_limits_events_and_clean_state(store: ProjectStore):
    log = UndoLog(limit=3)
    changes = []
    log.events.changed.connect(lambda ev: changes.append((log.can_undo, log.can_redo)))
    value = {"v": 0}

    def setv(n):
        return lambda: value.__setitem__("v", n)

    for i in range(1, 6):
        value["v"] = i
        log.push(CallbackAction(f"set {i}", setv(i - 1), setv(i)))
    assert log.steps == ["set 3", "set 4", "set 5"] and len(changes) == 5
    log.mark_clean()
    assert log.is_clean
    log.undo()
    assert value["v"] == 4 and not log.is_clean and changes[-1] == (True, True)
    log.push(CallbackAction("set 9", setv(4), setv(9)))
    assert not log.can_redo  # a new change drops the redo stack
    mask = np.zeros((100, 100), np.uint8)
    big = UndoLog(max_bytes=3000)
    for i in range(5):
        after = M.fill_rect(mask, 0, 0, 30, 30, value=i + 1)
        big.push(MaskEdit.from_masks("Fill", mask, after, lambda box, px: None))
        mask = after
    assert len(big.steps) == 1  # each step keeps 2 × 900 bytes: only the newest fits
