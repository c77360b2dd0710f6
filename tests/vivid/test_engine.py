"""The vivid engine on a tiny seeded model: image mode, KIVE propagation, exactness, cancel and resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from model_runtime.engines.base import EngineError, JobCancelled
from model_runtime.engines.composite import composite, feather_alpha
from model_runtime.engines.vivid import VividEngine
from model_runtime.vivid.frames import Letterbox, mask_tensor, to_uint8, video_tensor
from vivid_desktop.protocol.jobs import EditKeyframeRequest, KeyframeSpec, RenderPlan
from vivid_desktop.protocol.windows import plan_windows

STEPS = 2


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def engine():
    return VividEngine()


class _Quiet:
    """A context that ignores everything (for set-up passes)."""

    def progress(self, *a, **k) -> None: ...
    def frame_ready(self, *a, **k) -> None: ...
    def check_cancelled(self) -> None: ...
    def log(self, message: str) -> None: ...


def _settings(model: Path, **extra) -> dict[str, object]:
    return {"model": str(model), "steps": STEPS, "window_length": 9, "window_stride": 8, **extra}


def _keyframe(engine, tiny_model, clip, box_mask, out: Path, seed: int = 1, frame: int = 4) -> Path:
    req = EditKeyframeRequest(
        source=str(clip),
        frame=frame,
        mask=str(box_mask),
        task="add",
        caption="a red balloon",
        engine="vivid",
        seed=seed,
        settings=_settings(tiny_model),
        output=str(out),
    )
    return engine.edit_keyframe(req, _Quiet())


def _plan(
    tiny_model, clip, box_mask, out_dir: Path, key: Path | None, stop: int = 21, **settings
) -> RenderPlan:
    keys = [KeyframeSpec(frame=4, mask=str(box_mask), image=str(key))] if key else []
    return RenderPlan(
        source=str(clip),
        start=0,
        stop=stop,
        mask=str(box_mask),
        keyframes=keys,
        task="add",
        caption="a red balloon",
        engine="vivid",
        seed=7,
        settings=_settings(tiny_model, **settings),
        output_dir=str(out_dir),
        feather=2,
    )


def test_info_is_cheap_and_lists_models(tiny_model, monkeypatch):
    monkeypatch.setenv("VIVID_MODEL_DIRS", str(tiny_model.parent))
    info = VividEngine().info()
    assert info.available
    assert [m["kind"] for m in info.details["models"]] == ["vivid"]


def test_image_mode_is_the_one_latent_frame_path(engine, tiny_model, clip, box_mask, scene, tmp_path):
    out = _keyframe(engine, tiny_model, clip, box_mask, tmp_path / "k.png", seed=3)
    result = _rgb(out)
    # The same pass by hand: letterbox, one frame through the pipeline, back, composite.
    runner = engine._runner
    source, mask = scene.frames[4], cv2.imread(str(box_mask), cv2.IMREAD_GRAYSCALE)
    box = Letterbox.fit(source.shape[:2], (32, 32))
    pe, ne = runner.embeddings("a red balloon", "")
    video = video_tensor([box.to_model(source)])
    edited = runner.pipe(
        video,
        mask_tensor([box.to_model(mask)]),
        pe,
        ne,
        steps=STEPS,
        guidance=6.0,
        generator=torch.Generator().manual_seed(3),
        cond_generator=torch.Generator().manual_seed(4),
    )
    assert edited.shape[2] == 1  # one frame in, one latent frame, one frame out
    expected = composite(source, box.from_model(to_uint8(edited)[0]), mask, 3)
    assert np.array_equal(result, expected)
    outside = feather_alpha(mask, 3) == 0
    assert np.array_equal(result[outside], source[outside])
    assert not np.array_equal(result[mask > 0], source[mask > 0])


def test_image_mode_is_deterministic_per_seed(engine, tiny_model, clip, box_mask, tmp_path):
    a = _rgb(_keyframe(engine, tiny_model, clip, box_mask, tmp_path / "a.png", seed=5))
    b = _rgb(_keyframe(engine, tiny_model, clip, box_mask, tmp_path / "b.png", seed=5))
    c = _rgb(_keyframe(engine, tiny_model, clip, box_mask, tmp_path / "c.png", seed=6))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_propagation_writes_every_frame_once_keyframe_unchanged_source_outside(
    make_ctx, engine, tiny_model, clip, box_mask, scene, tmp_path
):
    key = _keyframe(engine, tiny_model, clip, box_mask, tmp_path / "key.png")
    plan = _plan(tiny_model, clip, box_mask, tmp_path / "render", key)
    ctx = make_ctx()
    engine.propagate(plan, ctx)
    announced = [f for f, _ in ctx.frames]
    assert sorted(announced) == list(range(21)) and len(set(announced)) == 21
    mask = cv2.imread(str(box_mask), cv2.IMREAD_GRAYSCALE)
    outside = feather_alpha(mask, plan.feather) == 0
    key_img = _rgb(key)
    for f in range(21):
        out = _rgb(tmp_path / "render" / f"{f:06d}.png")
        assert np.array_equal(out[outside], scene.frames[f][outside]), f
    at_key = _rgb(tmp_path / "render" / "000004.png")
    assert np.array_equal(at_key[mask > 0], key_img[mask > 0])
    # Progress carries latent previews (small RGB images) while windows denoise.
    previews = [p[3] for p in ctx.progress_calls if p[3] is not None]
    assert previews and all(p.dtype == np.uint8 and p.ndim == 3 for p in previews)
    assert not list((tmp_path / "render").glob(".*"))  # no temp files left


def test_cancel_leaves_whole_windows_and_resume_matches_uninterrupted(
    make_ctx, engine, tiny_model, clip, box_mask, tmp_path
):
    key = _keyframe(engine, tiny_model, clip, box_mask, tmp_path / "key.png")
    full_dir = tmp_path / "full"
    engine.propagate(_plan(tiny_model, clip, box_mask, full_dir, key), make_ctx())
    windows = plan_windows(0, 21, [4], length=9, stride=8)  # [0,5) backward, [4,13), [12,21)
    assert [(w.start, w.stop, w.direction) for w in windows] == [
        (0, 5, "backward"),
        (4, 13, "forward"),
        (12, 21, "forward"),
    ]

    part_dir = tmp_path / "part"
    ctx = make_ctx(cancel_after=STEPS + 1)  # during the second window's denoising
    with pytest.raises(JobCancelled):
        engine.propagate(_plan(tiny_model, clip, box_mask, part_dir, key), ctx)
    assert sorted(int(p.stem) for p in part_dir.glob("*.png")) == list(windows[0].writes)

    resume = make_ctx()
    engine.propagate(_plan(tiny_model, clip, box_mask, part_dir, key), resume)
    assert sorted(f for f, _ in resume.frames) == list(range(4, 21))  # the first window is not redone
    for f in range(21):
        name = f"{f:06d}.png"
        assert np.array_equal(_rgb(part_dir / name), _rgb(full_dir / name)), f


def test_frames_before_the_first_keyframe_follow_it_backward(
    make_ctx, engine, tiny_model, clip, box_mask, tmp_path
):
    mask = cv2.imread(str(box_mask), cv2.IMREAD_GRAYSCALE) > 0
    renders = []
    for seed in (1, 2):  # two different edits of keyframe 4, the same noise everywhere else
        key = _keyframe(engine, tiny_model, clip, box_mask, tmp_path / f"key{seed}.png", seed=seed)
        out = tmp_path / f"r{seed}"
        ctx = make_ctx()
        engine.propagate(_plan(tiny_model, clip, box_mask, out, key, stop=5), ctx)
        assert sorted(f for f, _ in ctx.frames) == [0, 1, 2, 3, 4]
        renders.append([_rgb(out / f"{f:06d}.png") for f in range(4)])
    # frames 0–3 are generated from the keyframe (known frame 0 of the reversed window), so they change
    # with it; without guidance they would be the same plain edit both times
    for f in range(4):
        assert not np.array_equal(renders[0][f][mask], renders[1][f][mask]), f


def test_incomplete_window_and_its_segment_are_recomputed(
    make_ctx, engine, tiny_model, clip, box_mask, tmp_path
):
    out = tmp_path / "render"
    engine.propagate(_plan(tiny_model, clip, box_mask, out, None), make_ctx())
    before = {p.name: p.read_bytes() for p in out.glob("*.png")}
    (out / "000010.png").unlink()  # a hole in the middle window [8, 17)
    ctx = make_ctx()
    engine.propagate(_plan(tiny_model, clip, box_mask, out, None), ctx)
    assert sorted(f for f, _ in ctx.frames) == list(range(9, 21))  # that window and the next (same segment)
    after = {p.name: p.read_bytes() for p in out.glob("*.png")}
    assert after == before  # same seed, same windows: identical frames


def test_bad_settings_and_missing_model_are_user_errors(make_ctx, engine, clip, box_mask, tmp_path):
    with pytest.raises(EngineError) as err:
        engine.propagate(_plan(tmp_path / "nowhere", clip, box_mask, tmp_path / "o", None), make_ctx())
    assert err.value.code == "model_not_found"
    with pytest.raises(EngineError) as err:
        engine.propagate(_plan(tmp_path, clip, box_mask, tmp_path / "o", None, window_length=8), make_ctx())
    assert err.value.code == "bad_settings"
    shutil.rmtree(tmp_path / "o", ignore_errors=True)
