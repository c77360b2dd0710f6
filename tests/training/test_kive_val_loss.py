"""The KIVE training variant (known first frame, built as the engine builds a window) and val_loss."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from train_helpers import RecordingContext, run_module, small_request

from model_runtime.engines.base import EngineError
from model_runtime.engines.vivid import VividEngine
from model_runtime.training.cache import build_cache, load_unit
from model_runtime.training.datasets import check_dataset
from model_runtime.training.loop import Trainer
from model_runtime.training.lora_io import read_lora_info
from model_runtime.training.model import load_train_model
from model_runtime.training.units import units_of
from model_runtime.training.val_loss import TIMESTEPS, prepare_val_loss, validation_loss
from model_runtime.vivid.pipeline import VividPipeline
from vivid_desktop.core.files import write_png
from vivid_desktop.datasets.synthetic import CAPTION, SIZE, make_dataset, write_clip_sample
from vivid_desktop.media.clip_frames import ClipFrames
from vivid_desktop.protocol.jobs import KeyframeSpec, RenderPlan
from vivid_desktop.render_folder import frame_path

CPU = torch.device("cpu")
ENV_KEYS = {"OMP_NUM_THREADS": "2", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class _Quiet:
    def progress(self, *a, **k) -> None: ...
    def frame_ready(self, *a, **k) -> None: ...
    def check_cancelled(self) -> None: ...
    def log(self, message: str) -> None: ...


def _clip_cond(tmp_path: Path, model, data: Path, kive: bool) -> torch.Tensor:
    sample = check_dataset(data, 9).train[0]
    index, _ = build_cache(units_of(sample, 9, 0), tmp_path / "cache", model, (SIZE, SIZE), kive=kive)
    return load_unit(index[0], "original")[1]


def _engine_cond(tmp_path: Path, tiny_model: Path, data: Path, monkeypatch) -> torch.Tensor:
    """What the vivid engine conditions its window on, with the clip's own frame 0 as the keyframe."""
    with ClipFrames(data / "clip0.mp4") as clip:
        first = clip.read(0)
    key = tmp_path / "key.png"
    write_png(key, first)
    seen: list[torch.Tensor] = []
    original = VividPipeline.condition

    def spy(self, *args, **kwargs):
        seen.append(original(self, *args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(VividPipeline, "condition", spy)
    masks = data / "clip0.mask"
    plan = RenderPlan(
        source=str(data / "clip0.mp4"),
        start=0,
        stop=9,
        mask_dir=str(masks),
        keyframes=[KeyframeSpec(frame=0, mask=str(frame_path(masks, 0)), image=str(key))],
        task="add",
        caption=CAPTION,
        engine="vivid",
        seed=1,
        settings={
            "model": str(tiny_model),
            "steps": 1,
            "window_length": 9,
            "resolution": [SIZE, SIZE],
            "framing": "letterbox",
        },
        output_dir=str(tmp_path / "render"),
    )
    VividEngine().propagate(plan, _Quiet())
    assert len(seen) == 1  # one 9-frame window
    return seen[0][0].cpu()


def test_kive_samples_know_frame_zero_and_match_the_engines_window(tmp_path, tiny_model, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    write_clip_sample(data, "clip0", seed=100)
    model = load_train_model(small_request(data, tiny_model, tmp_path / "x.safetensors", num_frames=9), CPU)
    kive = _clip_cond(tmp_path, model, data, kive=True)
    standard = _clip_cond(tmp_path, model, data, kive=False)
    assert kive.shape == standard.shape and kive.shape[:2] == (3, 5)  # 9 frames → 3 latents; mask + 4
    # frame 0 is known: mask 0 there (polarity "edit", scale 1); the ball is still masked in later frames
    assert kive[0, 0].abs().max() == 0 and standard[0, 0].max() == 1
    assert torch.equal(kive[1:, 0], standard[1:, 0]) and kive[1:, 0].max() == 1
    assert not torch.allclose(kive[0, 1:], standard[0, 1:])  # the known frame's pixels are not blacked out
    # the same tensor the engine builds for a window whose keyframe is that frame
    engine = _engine_cond(tmp_path, tiny_model, data, monkeypatch)
    # (equal up to float rounding: the trainer encodes its eight mask variants in one VAE batch)
    torch.testing.assert_close(engine, kive, rtol=0, atol=1e-5)
    assert torch.equal(engine[:, 0], kive[:, 0])  # the mask channel exactly


def _val_data(tmp_path: Path) -> Path:
    data = make_dataset(tmp_path / "data", images=2, clips=1, validation=1)
    write_clip_sample(data / "validation", "valclip", seed=300)
    return data


def test_val_loss_is_fixed_for_fixed_weights_and_moves_when_they_change(tmp_path, tiny_model):
    data = _val_data(tmp_path)
    model = load_train_model(small_request(data, tiny_model, tmp_path / "x.safetensors"), CPU)
    units = prepare_val_loss(check_dataset(data, 5).validation, model, (SIZE, SIZE), 5, True, 0)
    assert sorted(u.batch.variants[0] for u in units) == ["kive", "original"]  # the clip and the image
    video = next(u for u in units if u.batch.variants == ["kive"])
    assert video.batch.cond[0, 0, 0].abs().max() == 0  # the validation clip is a KIVE sample as well
    model.transformer.train()
    first = validation_loss(model, units, (SIZE, SIZE))
    assert model.transformer.training  # the train mode comes back
    assert validation_loss(model, units, (SIZE, SIZE)) == first and np.isfinite(first) and first > 0
    weight = model.transformer.patch_embed.proj.weight
    kept = weight.detach().clone()
    with torch.no_grad():
        weight.add_(0.05 * torch.randn(weight.shape, generator=torch.Generator().manual_seed(3)))
    changed = validation_loss(model, units, (SIZE, SIZE))
    assert abs(changed - first) > 1e-4 * first
    with torch.no_grad():
        weight.copy_(kept)
    assert validation_loss(model, units, (SIZE, SIZE)) == first
    assert len(TIMESTEPS) >= 3


def test_vivid_train_kive_logs_val_loss(tmp_path, tiny_model):
    """The real entry point: ``vivid train --variant kive`` in its own process."""
    import os

    data = _val_data(tmp_path)
    out = tmp_path / "lora.safetensors"
    cmd = ["-m", "vivid_desktop.cli.main", "train", "--data", str(data), "--model", str(tiny_model)]
    cmd += ["-o", str(out), "--steps", "4", "--rank", "4", "--height", "32", "--width", "32"]
    cmd += ["--num-frames", "5", "--warmup-steps", "1", "--validate-every", "0", "--no-checkpointing"]
    cmd += ["--variant", "kive", "--val-loss-every", "2"]
    result = run_module(cmd, timeout=180, env={**os.environ, **ENV_KEYS})
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(x) for x in out.with_name("lora.loss.jsonl").read_text().splitlines()]
    val = [e for e in records if "val_loss" in e]
    assert [(e["step"], e["samples"]) for e in val] == [(0, 2), (2, 2), (4, 2)]
    assert all(np.isfinite(e["val_loss"]) for e in val)
    assert [e["step"] for e in records if "loss" in e] == [1, 2, 3, 4]
    assert "val_loss" in result.stderr and "at step 4" in result.stderr
    # what the command line left out follows the machine (here: no GPU, the CPU preset)
    assert "settings for this machine: the " in result.stderr
    assert "preset's batch_size, train_ff" in result.stderr
    assert read_lora_info(out)["variant"] == "kive"
    metas = []
    for path in (tmp_path / "lora.safetensors.work" / "cache" / "latents").glob("*.safetensors"):
        with safe_open(str(path), framework="pt") as f:
            metas.append(json.loads(f.metadata()["vivid"]))
    # the clip's video unit is a KIVE sample; image units (its frames, the images) are not
    assert sorted(m["unit"] for m in metas if m["kive"]) == ["clip0.mp4 [0–4]"]
    assert len(metas) > 1


def test_the_variant_must_match_to_resume(tmp_path, tiny_model):
    data = make_dataset(tmp_path / "data", images=1, clips=1)
    Trainer(small_request(data, tiny_model, tmp_path / "x.safetensors", steps=2), RecordingContext()).run()
    other = small_request(data, tiny_model, tmp_path / "x.safetensors", steps=4, variant="kive")
    with pytest.raises(EngineError, match="other settings \\(variant\\)"):
        Trainer(other, RecordingContext()).run()
