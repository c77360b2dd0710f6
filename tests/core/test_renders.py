"""Render plans for edits and the frame each output frame shows (layered edits)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vivid_desktop.core.files import read_png, write_png
from vivid_desktop.core.project import MaskTrack, ProjectError
from vivid_desktop.core.render_plan import compose_layers
from vivid_desktop.core.store import ProjectStore, open_project
from vivid_desktop.protocol.jobs import DELETE_CAPTION, RenderPlan

H, W = 48, 64


def _mask(y0: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, 10:20] = 255
    return m


def _fake_render(store: ProjectStore, edit_id: str, start: int, stop: int, frames: range) -> str:
    """What the runtime does: frames written into the render's folder."""
    render = store.prepare_render(edit_id, start, stop)
    for n in frames:
        write_png(store.render_frame_path(render.id, n), np.full((H, W, 3), n, np.uint8), durable=False)
    return render.id


def test_plan_snapshots_keyframe_masks_and_images(store: ProjectStore):
    p = store.project
    edit = p.add_edit(task="delete", settings={"feather": 6})
    p.set_caption(edit.id, "ignored for delete")
    store.add_keyframe(edit.id, 10, _mask(0, 5))
    store.add_keyframe(edit.id, 40, _mask(5, 10))
    store.add_keyframe(edit.id, 100, _mask(10, 15))  # outside the range: not a keyframe of the plan
    store.write_keyframe_image(edit.id, 40, np.full((H, W, 3), 7, np.uint8))

    render = store.prepare_render(edit.id, 0, 60)
    plan = render.render_plan()
    assert isinstance(plan, RenderPlan)
    assert (plan.start, plan.stop, plan.task, plan.caption, plan.feather) == (
        0,
        60,
        "delete",
        DELETE_CAPTION,
        6,
    )
    assert Path(plan.output_dir) == store.render_dir(render.id)
    assert [k.frame for k in plan.keyframes] == [10, 40]
    assert plan.keyframes[0].image is None and read_png(plan.keyframes[1].image)[0, 0, 0] == 7
    masks = sorted(p.name for p in Path(plan.mask_dir).iterdir())
    assert masks == ["000010.png", "000040.png", "000100.png"]
    # Repainting after the plan does not change what the render reads.
    store.set_mask(edit.id, 10, _mask(30, 40))
    store.save()
    assert np.array_equal(read_png(Path(plan.mask_dir) / "000010.png"), _mask(0, 5))
    # The render is recorded (queued) and saved with the project.
    reopened = open_project(store.folder).project.edit(edit.id).renders
    assert [(r.id, r.status) for r in reopened] == [(render.id, "queued")]


def test_plan_uses_a_current_track_with_keyframes_on_top(store: ProjectStore):
    p = store.project
    edit = p.add_edit()
    store.add_keyframe(edit.id, 2, _mask(0, 5))
    track = store.track_dir(edit.id)
    for n in range(0, 6):
        write_png(track / f"{n:06d}.png", _mask(20, 21 + n), durable=False)
    p.set_edit_field(edit.id, "mask_track", MaskTrack(folder=f"masks/{edit.id}/track", start=0, stop=6))
    plan = store.prepare_render(edit.id, 1, 5).render_plan()
    names = sorted(x.name for x in Path(plan.mask_dir).iterdir())
    assert names == [f"{n:06d}.png" for n in range(1, 5)]
    assert np.array_equal(read_png(Path(plan.mask_dir) / "000002.png"), _mask(0, 5))  # the anchor wins
    assert np.array_equal(read_png(Path(plan.mask_dir) / "000003.png"), _mask(20, 24))

    store.set_mask(edit.id, 2, _mask(1, 6))  # a correction makes the track stale
    assert p.edit(edit.id).mask_track.stale
    plan = store.prepare_render(edit.id, 1, 5).render_plan()
    assert sorted(x.name for x in Path(plan.mask_dir).iterdir()) == ["000002.png"]


def test_plan_errors(store: ProjectStore):
    edit = store.project.add_edit()
    with pytest.raises(ProjectError, match="no mask yet"):
        store.prepare_render(edit.id)
    store.add_keyframe(edit.id, 0)
    with pytest.raises(ProjectError, match="the clip has 120 frames"):
        store.prepare_render(edit.id, 100, 130)
    with pytest.raises(ProjectError, match="no edit"):
        store.prepare_render("nope")


def test_final_frame_path_layers_edits(store: ProjectStore):
    p = store.project
    below = p.add_edit(name="below")
    above = p.add_edit(name="above")
    store.add_keyframe(below.id, 0)
    store.add_keyframe(above.id, 20)
    r_below = _fake_render(store, below.id, 0, 100, range(0, 51))
    r_above = _fake_render(store, above.id, 20, 40, range(20, 31))

    def shown(n: int) -> str | None:
        path = store.final_frame_path(n)
        return None if path is None else path.parent.name

    assert shown(10) == r_below
    assert shown(25) == r_above  # the topmost edit wins
    assert shown(35) == r_below  # the top render has not reached 35 yet
    assert shown(60) is None  # no render has it: the source frame
    assert shown(110) is None

    r_newer = _fake_render(store, above.id, 24, 27, range(24, 27))
    assert shown(25) == r_newer and shown(28) == r_above  # the newest render of an edit first

    p.set_enabled(above.id, False)
    assert shown(25) == r_below
    p.set_enabled(above.id, True)
    p.move_edit(above.id, 0)  # now below the other one
    assert shown(25) == r_below and shown(55) is None
    assert store.rendered_frames(r_newer) == [24, 25, 26]


def test_final_layers_are_one_render_per_enabled_edit_bottom_first(store: ProjectStore):
    p = store.project
    below = p.add_edit(name="below")
    above = p.add_edit(name="above")
    store.add_keyframe(below.id, 0)
    store.add_keyframe(above.id, 20)
    r_below = _fake_render(store, below.id, 0, 100, range(0, 51))
    r_above = _fake_render(store, above.id, 20, 40, range(20, 31))
    r_newer = _fake_render(store, above.id, 24, 27, range(24, 27))

    def layers(n: int) -> list[str]:
        return [path.parent.name for path in store.final_layers(n)]

    assert layers(10) == [r_below]
    assert layers(22) == [r_below, r_above]
    assert layers(25) == [r_below, r_newer]  # the newest render of an edit only: it replaces the older
    assert layers(35) == [r_below] and layers(60) == []
    assert store.final_frame_path(25) == store.final_layers(25)[-1]
    p.move_edit(above.id, 0)
    assert layers(25) == [r_newer, r_below]
    p.set_enabled(below.id, False)
    assert layers(25) == [r_newer] and layers(10) == []


def test_compose_layers_keeps_every_layers_changes():
    rng = np.random.default_rng(3)
    source = rng.integers(0, 256, (H, W, 3), np.uint8)
    kept = source.copy()
    lower = source.copy()
    lower[0:10, 0:10] = (255, 0, 0)  # edit 1 changes the top-left
    upper = source.copy()
    upper[5:20, 5:20] = (0, 0, 255)  # edit 2 overlaps it partly, and wins where it changed pixels
    upper[30, 40, 1] ^= 1  # one channel off by one is a change too

    out = compose_layers(source, [lower, upper])
    expected = source.copy()
    expected[0:10, 0:10] = (255, 0, 0)
    expected[5:20, 5:20] = (0, 0, 255)
    expected[30, 40] = upper[30, 40]
    assert np.array_equal(out, expected)
    assert np.array_equal(compose_layers(source, [upper, lower])[5:10, 5:10], lower[5:10, 5:10])
    assert np.array_equal(source, kept)  # the inputs are not written to
    assert compose_layers(source, [upper]) is upper  # one layer: that render exactly
    assert np.array_equal(compose_layers(source, []), source)
    with pytest.raises(ProjectError, match="rendered frame is 10×5"):
        compose_layers(source, [lower, upper[:5, :10]])


def test_track_and_keyframe_preview_requests(store: ProjectStore):
    p = store.project
    edit = p.add_edit(task="modify", caption="a blue door", settings={"strength": 0.7}, seed=5)
    with pytest.raises(ProjectError, match="no keyframe mask to track"):
        store.prepare_track(edit.id)
    store.add_keyframe(edit.id, 3, _mask(0, 5))
    store.add_keyframe(edit.id, 50, _mask(5, 9))
    track = store.prepare_track(edit.id, 0, 60)
    assert [(a.frame, Path(a.mask).is_file()) for a in track.anchors] == [(3, True), (50, True)]
    assert Path(track.output_dir) == store.track_dir(edit.id) and (track.start, track.stop) == (0, 60)
    assert track.settings["cache_dir"] == str(store.cache_dir("flow"))  # shared with propagation
    for n in range(0, 60):  # the runtime's work
        write_png(Path(track.output_dir) / f"{n:06d}.png", _mask(n % 40, n % 40 + 3), durable=False)
    store.track_done(edit.id, 0, 60)
    assert np.array_equal(store.frame_mask(edit.id, 20), _mask(20, 23))  # a tracked frame
    assert np.array_equal(store.frame_mask(edit.id, 3), _mask(0, 5))  # a keyframe

    request = store.prepare_keyframe_preview(edit.id, 50)
    assert (request.frame, request.caption, request.seed, request.settings) == (
        50,
        "a blue door",
        5,
        {"strength": 0.7},
    )
    assert np.array_equal(read_png(request.mask), _mask(5, 9))
    assert Path(request.output).parent == store.folder / "cache" / "previews" / edit.id
    write_png(request.output, np.full((H, W, 3), 99, np.uint8))  # the runtime answers
    store.import_keyframe_image(edit.id, 50, request.output)  # accepted
    assert p.keyframe(edit.id, 50).image == f"keyframes/{edit.id}/000050.png"
    assert store.read_keyframe_image(edit.id, 50)[0, 0, 0] == 99
    with pytest.raises(ProjectError, match="is not an image"):
        store.import_keyframe_image(edit.id, 50, store.project_file)


def test_interrupted_renders_and_deleting_renders(store: ProjectStore):
    edit = store.project.add_edit()
    store.add_keyframe(edit.id, 0)
    running = _fake_render(store, edit.id, 0, 10, range(0, 4))
    finished = _fake_render(store, edit.id, 0, 10, range(0, 10))
    store.project.set_render_status(running, "running", frames_done=4)
    store.project.set_render_status(finished, "done", frames_done=10)
    store.save()
    reopened = open_project(store.folder)  # the app had crashed mid-render
    statuses = {r.id: (r.status, r.frames_done) for r in reopened.project.edit(edit.id).renders}
    assert statuses == {running: ("cancelled", 4), finished: ("done", 10)}
    assert reopened.rendered_frames(running) == [0, 1, 2, 3]
    reopened.delete_render(finished)
    assert not reopened.render_dir(finished).exists()
    assert reopened.final_frame_path(2).parent.name == running and reopened.final_frame_path(5) is None
