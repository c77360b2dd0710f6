"""A keyframe preview through a real runtime subprocess (tiny seeded vivid model): every denoising step is
one ``progress{unit: step}`` event, 1…n in order; a cancel after step k ends the job with one
``cancelled``, between steps, and writes no file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vivid_desktop.protocol.jobs import EditKeyframeRequest
from vivid_desktop.runtime_client import LaunchSpec, Message, RuntimeClient

TERMINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def runtime():
    # not a heartbeat test: on a loaded shared machine the runtime may go unscheduled for over 1.5 s
    client = RuntimeClient(LaunchSpec(start_timeout=30.0, heartbeat_timeout=10.0))
    client.start()
    try:
        yield client
    finally:
        client.shutdown()


def _request(
    tiny_model: Path, clip: Path, mask: Path, out: Path, steps: int, **settings
) -> EditKeyframeRequest:
    return EditKeyframeRequest(
        source=str(clip),
        frame=4,
        mask=str(mask),
        task="add",
        caption="a red balloon",
        engine="vivid",
        seed=3,
        settings={"model": str(tiny_model), "steps": steps, **settings},
        output=str(out),
    )


def _steps(events: list[Message]) -> list[tuple[float, float]]:
    return [
        (e.content.done, e.content.total)
        for e in events
        if e.msg_type == "progress" and e.content.unit == "step"
    ]


def test_each_step_arrives_once_in_order_then_the_preview(runtime, tiny_model, clip, box_mask, tmp_path):
    events: list[Message] = []
    out = tmp_path / "preview.png"
    job = runtime.submit(_request(tiny_model, clip, box_mask, out, steps=7), events.append)
    end = job.wait(120)
    assert end.msg_type == "succeeded", end.content
    assert _steps(events) == [(float(i), 7.0) for i in range(1, 8)]
    step_messages = [
        e.content.message for e in events if e.msg_type == "progress" and e.content.unit == "step"
    ]
    assert step_messages[-1] == "keyframe 4: step 7/7"
    assert [e.msg_type for e in events if e.msg_type in TERMINAL] == ["succeeded"] and events[-1] is end
    assert out.is_file() and end.content.result["output"] == str(out)


def test_cancel_after_step_k_stops_between_steps_and_writes_nothing(
    runtime, tiny_model, clip, box_mask, tmp_path
):
    k, n = 2, 400  # many steps: the cancel must land long before the pass could end by itself
    events: list[Message] = []
    out = tmp_path / "sub" / "preview.png"
    holder: dict[str, object] = {}
    sent = threading.Event()

    def on_event(msg: Message) -> None:
        events.append(msg)
        if msg.msg_type == "progress" and msg.content.unit == "step" and msg.content.done == k:
            holder["job"].cancel()  # type: ignore[attr-defined]
            sent.set()

    # a larger model frame makes each step cost more than the cancel's round trip
    holder["job"] = job = runtime.submit(
        _request(tiny_model, clip, box_mask, out, steps=n, resolution=[96, 96]), on_event
    )
    end = job.wait(120)
    assert sent.is_set()
    assert end.msg_type == "cancelled", end.content
    assert [e.msg_type for e in events if e.msg_type in TERMINAL] == ["cancelled"] and events[-1] is end
    steps = _steps(events)
    assert steps == [(float(i), float(n)) for i in range(1, len(steps) + 1)]  # in order, none lost
    assert k <= len(steps) < n  # stopped between steps, well before the end
    assert not out.exists() and list(out.parent.iterdir()) == []  # no file, no temp file either

    # the runtime is idle and still answers: the next preview runs to the end
    again = runtime.submit(_request(tiny_model, clip, box_mask, tmp_path / "next.png", steps=2), None)
    assert again.wait(120).msg_type == "succeeded"
