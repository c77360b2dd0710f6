"""The contract every engine keeps (DESIGN.md §4–5), run alike against ``flow`` and the tiny ``vivid``.

Validation errors have the same codes; a job ends with exactly one terminal event; frames are announced
once each, in order, after they are whole on disk; outside the mask the output is the source exactly;
cancel leaves only whole frames; a resumed render equals an uninterrupted one pixel for pixel.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from contract_support import FRAMES, HEIGHT, WIDTH, Subject, run_job

from vivid_desktop.protocol.jobs import EditKeyframeRequest
from vivid_desktop.protocol.messages import Cancelled, Failed, Succeeded
from vivid_desktop.render_folder import done_frames, frame_path, read_image, write_frame

#: Pixels farther than this from the mask are the source's, exactly (flow grows a delete mask by 3 px,
#: both engines feather by the plan's 2 px).
MARGIN = 8


@pytest.fixture(scope="module")
def full(subject: Subject, tmp_path_factory) -> Path:
    """An uninterrupted render of the whole clip (once per engine)."""
    out = tmp_path_factory.mktemp(f"full-{subject.engine}")
    run = run_job("propagate", subject.plan(out))
    assert [type(t) for t in run.terminals] == [Succeeded], run.terminals
    assert run.events[-1] is run.terminals[0]
    assert run.frames == list(range(FRAMES))  # each frame once, in order
    assert run.terminals[0].result["frames"] == FRAMES and run.terminals[0].result["missing"] == 0
    return out


def _far_from_mask(mask: np.ndarray) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * MARGIN + 1, 2 * MARGIN + 1))
    return cv2.dilate(mask, kernel) == 0


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_render_writes_every_frame_whole_and_keeps_the_source_outside_the_mask(subject, full):
    clip = subject.clip
    assert done_frames(full) == list(range(FRAMES)) and _leftovers(full) == []
    changed = 0
    for n in range(FRAMES):
        out = read_image(frame_path(full, n), (HEIGHT, WIDTH))
        outside = _far_from_mask(clip.mask_arrays[n])
        np.testing.assert_array_equal(out[outside], clip.frames[n][outside], err_msg=f"frame {n}")
        changed += int((out != clip.frames[n]).any())
    assert changed >= FRAMES // 2  # the engine did edit inside the masks


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("missing_source", "source_missing"),
        ("missing_mask", "mask_missing"),
        ("empty_mask_folder", "mask_missing"),
        ("wrong_size_mask", "mask_size"),
        ("range_past_the_clip", "empty_range"),
    ],
)
def test_bad_input_fails_once_with_the_shared_code_and_writes_nothing(subject, tmp_path, case, code):
    (tmp_path / "empty").mkdir()
    wrong = write_frame(tmp_path / "wrong.png", np.full((HEIGHT // 2, WIDTH), 255, np.uint8))
    fields = {
        "missing_source": {"source": str(tmp_path / "gone.mkv")},
        "missing_mask": {"mask_dir": None, "mask": str(tmp_path / "gone.png")},
        "empty_mask_folder": {"mask_dir": str(tmp_path / "empty")},
        "wrong_size_mask": {"mask_dir": None, "mask": str(wrong)},
        "range_past_the_clip": {"start": FRAMES + 3, "stop": FRAMES + 9},
    }[case]
    out = tmp_path / "render"
    run = run_job("propagate", subject.plan(out, **fields))
    assert [type(t) for t in run.terminals] == [Failed] and run.events[-1] is run.terminals[0]
    assert run.terminals[0].code == code, run.terminals[0].message
    assert run.terminals[0].message and "\n" not in run.terminals[0].message
    assert run.frames == [] and done_frames(out) == []


def test_cancel_then_resume_equals_an_uninterrupted_render(subject, full, tmp_path):
    out = tmp_path / "render"
    first = run_job("propagate", subject.plan(out), cancel_after_frames=1)
    assert [type(t) for t in first.terminals] == [Cancelled] and first.events[-1] is first.terminals[0]
    kept = done_frames(out)
    assert first.frames == sorted(first.frames) and set(kept) <= set(first.frames)
    assert 0 < len(kept) < FRAMES and _leftovers(out) == []  # only whole frames are left

    second = run_job("propagate", subject.plan(out))
    assert [type(t) for t in second.terminals] == [Succeeded]
    assert second.frames == [n for n in range(FRAMES) if n not in kept]  # finished frames are kept
    for n in range(FRAMES):
        np.testing.assert_array_equal(
            read_image(frame_path(out, n)), read_image(frame_path(full, n)), err_msg=f"frame {n}"
        )


def test_a_finished_render_is_not_redone(subject, full):
    stamps = {n: frame_path(full, n).stat().st_mtime_ns for n in range(FRAMES)}
    run = run_job("propagate", subject.plan(full))
    assert [type(t) for t in run.terminals] == [Succeeded] and run.frames == []
    assert {n: frame_path(full, n).stat().st_mtime_ns for n in range(FRAMES)} == stamps


def _keyframe_request(subject: Subject, output: Path, frame: int = 8) -> EditKeyframeRequest:
    return EditKeyframeRequest(
        source=str(subject.clip.path),
        frame=frame,
        mask=str(frame_path(subject.clip.masks, frame)),
        task="delete",
        engine=subject.engine,
        seed=5,
        settings={**subject.settings, "feather": 2},
        output=str(output),
    )


def test_a_keyframe_edit_ends_once_and_keeps_the_source_outside_the_mask(subject, tmp_path):
    clip, frame = subject.clip, 8
    run = run_job("edit_keyframe", _keyframe_request(subject, tmp_path / "key.png", frame))
    assert [type(t) for t in run.terminals] == [Succeeded] and run.events[-1] is run.terminals[0]
    out = read_image(tmp_path / "key.png", (HEIGHT, WIDTH))
    outside = _far_from_mask(clip.mask_arrays[frame])
    np.testing.assert_array_equal(out[outside], clip.frames[frame][outside])
    assert (out != clip.frames[frame]).any()


def test_a_keyframe_preview_counts_its_steps_and_a_cancel_leaves_no_file(subject, tmp_path):
    run = run_job("edit_keyframe", _keyframe_request(subject, tmp_path / "key.png"))
    assert [type(t) for t in run.terminals] == [Succeeded]
    units = run.units
    assert {u.unit for u in units} == {"step" if subject.engine == "vivid" else "stage"}
    total = int(units[0].total)
    assert [u.done for u in units] == list(range(1, total + 1)) and {u.total for u in units} == {total}
    if subject.engine == "vivid":
        assert total == subject.settings["steps"]  # one event per denoising step

    out = tmp_path / "cancelled" / "key.png"
    cancelled = run_job("edit_keyframe", _keyframe_request(subject, out), cancel_after_units=1)
    assert [type(t) for t in cancelled.terminals] == [Cancelled]
    assert cancelled.events[-1] is cancelled.terminals[0]
    assert len(cancelled.units) == 1  # stopped at the next step
    assert not out.exists() and [p for p in out.parent.iterdir() if p.is_file()] == []  # no temp file
