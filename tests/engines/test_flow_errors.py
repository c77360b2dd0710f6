"""Bad input, a failing disk, a cancel: each ends the job with one clear exception, nothing half-written."""

from __future__ import annotations

import numpy as np
import pytest
from flow_helpers import FakeContext, write_masks

from model_runtime.engines.base import EngineError, JobCancelled
from model_runtime.engines.flow import FlowEngine
from vivid_desktop.protocol.jobs import EditKeyframeRequest, KeyframeSpec, RenderPlan


def plan(pan, tmp_path, **fields) -> RenderPlan:
    base = {
        "source": str(pan.clip),
        "start": 0,
        "stop": 24,
        "mask_dir": str(pan.masks),
        "task": "delete",
        "output_dir": str(tmp_path / "render"),
    }
    return RenderPlan(**{**base, **fields})


def failure(job) -> EngineError:
    with pytest.raises(EngineError) as err:
        job()
    return err.value


def test_missing_and_unreadable_sources(pan, tmp_path):
    engine, ctx = FlowEngine(), FakeContext()
    err = failure(lambda: engine.propagate(plan(pan, tmp_path, source=str(tmp_path / "nope.mp4")), ctx))
    assert err.code == "source_missing" and "nope.mp4" in err.message
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    err = failure(lambda: engine.propagate(plan(pan, tmp_path, source=str(junk)), ctx))
    assert err.code == "source_unreadable"
    assert not ctx.frames


def test_mask_problems(pan, tmp_path):
    engine, ctx = FlowEngine(), FakeContext()
    err = failure(
        lambda: engine.propagate(plan(pan, tmp_path, mask_dir=None, mask=str(tmp_path / "m.png")), ctx)
    )
    assert err.code == "mask_missing"
    (tmp_path / "empty").mkdir()
    err = failure(lambda: engine.propagate(plan(pan, tmp_path, mask_dir=str(tmp_path / "empty")), ctx))
    assert err.code == "mask_missing" and "000000.png" in err.message
    wrong = write_masks(tmp_path / "wrong", {0: np.zeros((50, 100), np.uint8)})
    err = failure(lambda: engine.propagate(plan(pan, tmp_path, mask_dir=str(wrong)), ctx))
    assert err.code == "mask_size" and "100×50" in err.message and "160×96" in err.message
    err = failure(lambda: engine.propagate(plan(pan, tmp_path, mask_dir=None), ctx))
    assert err.code == "mask_missing"
    assert not ctx.frames and not list((tmp_path / "render").glob("*.png"))


def test_empty_range(pan, tmp_path):
    err = failure(lambda: FlowEngine().propagate(plan(pan, tmp_path, start=30, stop=40), FakeContext()))
    assert err.code == "empty_range" and "24" in err.message


def test_add_and_modify_need_an_edited_keyframe(pan, tmp_path):
    engine = FlowEngine()
    keyframe = KeyframeSpec(frame=0, mask=str(pan.masks / "000000.png"))
    err = failure(
        lambda: engine.propagate(plan(pan, tmp_path, task="add", keyframes=[keyframe]), FakeContext())
    )
    assert err.code == "needs_edited_image" and "image editor" in err.message and "vivid" in err.message
    request = EditKeyframeRequest(
        source=str(pan.clip),
        frame=3,
        mask=str(pan.masks / "000003.png"),
        task="modify",
        output=str(tmp_path / "k.png"),
    )
    err = failure(lambda: engine.edit_keyframe(request, FakeContext()))
    assert err.code == "needs_edited_image" and "image editor" in err.message
    assert not (tmp_path / "k.png").exists()


def test_keyframe_image_of_the_wrong_size(pan, tmp_path):
    image = write_masks(tmp_path / "img", {0: np.zeros((10, 10, 3), np.uint8)}) / "000000.png"
    keyframe = KeyframeSpec(frame=0, mask=str(pan.masks / "000000.png"), image=str(image))
    err = failure(
        lambda: FlowEngine().propagate(plan(pan, tmp_path, task="add", keyframes=[keyframe]), FakeContext())
    )
    assert err.code == "image_size" and "10×10" in err.message


@pytest.mark.parametrize("settings", [{"flow_preset": "warp-speed"}, {"dilate": "lots"}])
def test_bad_settings(pan, tmp_path, settings):
    # The protocol refuses numbers that are not numbers; the engine checks what reaches it anyway.
    bad = RenderPlan.model_construct(**{**plan(pan, tmp_path).model_dump(), "settings": settings})
    err = failure(lambda: FlowEngine().propagate(bad, FakeContext()))
    assert err.code == "bad_settings"


def test_info_describes_the_engine():
    info = FlowEngine().info()
    assert info.name == "flow" and info.available and set(info.tasks) == {"add", "modify", "delete"}


def test_an_unwritable_render_folder_is_one_clear_error(pan, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    request = EditKeyframeRequest(
        source=str(pan.clip),
        frame=3,
        mask=str(pan.masks / "000003.png"),
        task="delete",
        output=str(blocker / "k.png"),
        settings={"cache_dir": str(tmp_path / "cache")},
    )
    err = failure(lambda: FlowEngine().edit_keyframe(request, FakeContext()))
    assert err.code == "write_failed" and "k.png" in err.message


def test_cancel_during_the_optical_flow(pan, tmp_path):
    class CancelAtOnce(FakeContext):
        def check_cancelled(self):
            if any(e[0] == "progress" for e in self.events):
                raise JobCancelled()

    ctx = CancelAtOnce()
    with pytest.raises(JobCancelled):
        FlowEngine().propagate(plan(pan, tmp_path, settings={"cache_dir": str(tmp_path / "c")}), ctx)
    flow_steps = [e for e in ctx.events if e[0] == "progress"]
    assert len(flow_steps) == 1 and flow_steps[0][3] == "optical flow"
    assert not ctx.frames
