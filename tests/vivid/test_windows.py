"""KIVE window planning (pure stdlib): coverage, keyframes, tails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vivid_desktop.protocol.windows import Window, check_length, model_length, plan_json, plan_windows


def _written(windows: list[Window]) -> list[int]:
    return [f for w in windows for f in w.writes]


def test_default_windows_chain_with_one_frame_overlap():
    ws = plan_windows(0, 145, [])
    assert [(w.start, w.stop) for w in ws] == [(0, 49), (48, 97), (96, 145)]
    assert ws[0].known_frame is None
    assert [w.known_frame for w in ws[1:]] == [48, 96]
    assert not any(w.keyframe for w in ws)
    assert _written(ws) == list(range(145))


def test_tail_window_runs_at_an_odd_latent_count():
    # 12 frames → 17 model frames (5 latents), never 13 (4 latents: the VAE would decode 16 frames)
    ws = plan_windows(10, 70, [])
    tail = ws[-1]
    assert (tail.start, tail.stop, tail.known_frame) == (58, 70, 58)
    assert tail.frames == 12 and tail.model_length == 17 and tail.pad == 5
    assert all(w.model_length % 8 == 1 and w.model_length <= 49 for w in ws)


def test_issue_examples_get_odd_latent_counts():
    # a 50-frame clip: the tail [48, 50) was 5 frames (2 latents → 8 decoded frames)
    assert plan_windows(0, 50, [])[-1].model_length == 9
    # keyframes at 10 and 60 on 130 frames: [0, 10] backward and [58, 60) forward, both 8k+1
    ws = plan_windows(0, 130, [10, 60])
    assert [(w.start, w.stop, w.direction, w.model_length) for w in ws[:3]] == [
        (0, 11, "backward", 17),
        (10, 59, "forward", 49),
        (58, 60, "forward", 9),
    ]


def test_frames_before_the_first_keyframe_propagate_backward_from_it():
    ws = plan_windows(0, 120, [100], length=49, stride=48)
    back = [w for w in ws if w.direction == "backward"]
    assert [(w.start, w.stop, w.known_frame, w.keyframe) for w in back] == [
        (52, 101, 100, True),
        (4, 53, 52, False),
        (0, 5, 4, False),
    ]
    assert back[0].model_frames()[:3] == [100, 99, 98]  # reversed in time, keyframe as model frame 0
    assert 100 not in back[0].writes  # the keyframe's own forward window writes it
    assert sorted(_written(ws)) == list(range(120))


def test_a_keyframe_at_the_end_of_a_part_guides_it_backward():
    # the farm splits [0, 60) with a keyframe at 10 into [0, 10) + [10, 60); the first part carries 10
    whole = plan_windows(0, 60, [10])
    part = plan_windows(0, 10, [10])
    assert part == [w for w in whole if w.direction == "backward"]
    assert part[0].known_frame == 10 and 10 not in part[0].writes
    assert plan_windows(0, 10, [30])[0].known_frame is None  # a keyframe further away does not


def test_every_keyframe_starts_a_window_and_is_written_by_it():
    ws = plan_windows(0, 120, [30, 100, 500])
    starts = {w.start: w for w in ws if w.direction == "forward"}
    for k in (30, 100):
        assert starts[k].known_frame == k and starts[k].keyframe
        assert k in starts[k].writes
    assert (ws[0].start, ws[0].stop, ws[0].known_frame, ws[0].direction) == (0, 31, 30, "backward")
    assert _written(ws) == list(range(120))


def test_keyframe_at_range_start():
    ws = plan_windows(5, 20, [5])
    assert ws == [Window(5, 20, 5, True)]
    assert list(ws[0].writes) == list(range(5, 20))


def test_short_stride_writes_overlap_once():
    ws = plan_windows(0, 30, [], length=9, stride=4)
    assert _written(ws) == list(range(30))
    assert all(w.known_frame == w.start for w in ws[1:])


@pytest.mark.parametrize("bad", [dict(length=48), dict(length=45), dict(stride=49), dict(stride=0)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        plan_windows(0, 10, [], **bad)


def test_model_length():
    assert [model_length(n) for n in (1, 2, 5, 9, 10, 48, 49)] == [1, 9, 9, 9, 17, 49, 49]


@pytest.mark.parametrize("length", [0, 5, 13, 45, 48])
def test_window_length_must_be_8k_plus_1(length):
    with pytest.raises(ValueError, match="8k\\+1"):
        check_length(length)


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 200),
    n=st.integers(0, 300),
    keys=st.lists(st.integers(0, 600), max_size=6),
    k=st.integers(1, 6),
    data=st.data(),
)
def test_every_frame_written_exactly_once(start, n, keys, k, data):
    length = 8 * k + 1
    stride = data.draw(st.integers(1, length - 1))
    stop = start + n
    ws = plan_windows(start, stop, keys, length=length, stride=stride)
    assert sorted(_written(ws)) == list(range(start, stop))
    inside = {x for x in keys if start <= x < stop}
    assert inside <= {w.start for w in ws if w.keyframe and w.direction == "forward"}
    done: set[int] = set()
    for w in ws:
        assert start <= w.start < w.stop <= stop + 1 and w.frames <= length
        assert all(start <= f < stop for f in w.writes)
        edge = w.stop - 1 if w.direction == "backward" else w.start
        assert w.known_frame in (None, edge)
        if w.known_frame is not None and not w.keyframe:
            assert w.known_frame in done  # written by an earlier window: execution order holds
        assert w.model_length % 8 == 1 and w.model_frames()[0] == edge
        done.update(w.writes)
    assert plan_json(start, stop, keys, length, stride)["windows"] == [w.to_dict() for w in ws]
