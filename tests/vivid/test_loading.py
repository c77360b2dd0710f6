"""Weights: our folder, adapter (base + patch embedding + LoRA), CogVideoX-Fun InP, pickles refused, LoRAs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from model_runtime.engines.base import EngineError
from model_runtime.vivid import discovery
from model_runtime.vivid.conditioning import FUN_INP
from model_runtime.vivid.loading import convert_fun_state_dict, load_model
from model_runtime.vivid.lora import LoraSpec, apply_loras, parse_loras, unload_loras
from model_runtime.vivid.tiny import write_tiny_adapter, write_tiny_lora


def _image_pass(pipe, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    video = torch.rand(1, 3, 1, 32, 32, generator=gen) * 2 - 1
    mask = torch.zeros(1, 1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    pe = pipe.encode_prompt("a red balloon")
    return pipe(video, mask, pe, pipe.encode_prompt(""), steps=2, generator=torch.Generator().manual_seed(1))


def _fun_layout(src: Path, dst: Path) -> Path:
    """Rewrite our tiny folder the way CogVideoX-Fun V1.1 InP ships: Fun config keys, sharded weights,
    DDIM scheduler, no vivid.json."""
    shutil.copytree(src, dst)
    (dst / "vivid.json").unlink()
    tdir = dst / "transformer"
    config = json.loads((tdir / "config.json").read_text())
    config.update(
        {
            "add_noise_in_inpaint_model": True,
            "swa": False,
            "window_size": 1024,
            "_diffusers_version": "0.30.1",
        }
    )
    (tdir / "config.json").write_text(json.dumps(config))
    state = load_file(str(tdir / "diffusion_pytorch_model.safetensors"))
    (tdir / "diffusion_pytorch_model.safetensors").unlink()
    keys = sorted(state)
    half = len(keys) // 2
    index = {"metadata": {}, "weight_map": {}}
    for i, part in enumerate((keys[:half], keys[half:]), start=1):
        name = f"diffusion_pytorch_model-0000{i}-of-00002.safetensors"
        save_file({k: state[k].contiguous() for k in part}, str(tdir / name))
        index["weight_map"].update({k: name for k in part})
    (tdir / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(index))
    sched = json.loads((dst / "scheduler" / "scheduler_config.json").read_text())
    sched["_class_name"] = "CogVideoXDDIMScheduler"
    (dst / "scheduler" / "scheduler_config.json").write_text(json.dumps(sched))
    return dst


def test_fun_inp_folder_converts_with_fun_conventions(tiny_model, tmp_path):
    fun_dir = _fun_layout(tiny_model, tmp_path / "CogVideoX-Fun-V1.1-tiny-InP")
    assert discovery.inspect_folder(fun_dir).kind == "fun-inp"
    logs: list[str] = []
    fun = load_model(fun_dir, log=logs.append)
    ours = load_model(tiny_model)
    a, b = fun.pipe.transformer.state_dict(), ours.pipe.transformer.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert fun.conditioning == FUN_INP  # keep-polarity, VAE-scaled, trilinear, V1.1 reference noise
    assert type(fun.pipe.scheduler).__name__ == "CogVideoXDDIMScheduler"
    assert any("add_noise_in_inpaint_model" in line for line in logs)


def test_fun_key_conversion_strips_training_prefixes():
    expected = {"patch_embed.proj.weight", "transformer_blocks.0.attn1.to_q.weight"}
    state = {
        "module.patch_embed.proj.weight": torch.ones(1),
        "transformer.transformer_blocks.0.attn1.to_q.weight": torch.zeros(1),
        "ref_patch_embed.proj.weight": torch.ones(1),
    }
    logs: list[str] = []
    out = convert_fun_state_dict(state, expected, logs.append)
    assert set(out) == expected and "ref_patch_embed" in logs[0]
    with pytest.raises(EngineError, match="missing"):
        convert_fun_state_dict({"patch_embed.proj.weight": torch.ones(1)}, expected, logs.append)


def test_pickle_weights_are_refused_with_a_clear_message(tiny_model, tmp_path):
    bad = shutil.copytree(tiny_model, tmp_path / "pickled")
    for f in (bad / "transformer").glob("*.safetensors"):
        f.unlink()
    (bad / "transformer" / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x04not-opened")
    with pytest.raises(EngineError) as err:
        load_model(bad)
    assert err.value.code == "pickle_refused"
    assert ".safetensors only" in err.value.message and "diffusion_pytorch_model.bin" in err.value.message
    pipe = load_model(tiny_model).pipe
    with pytest.raises(EngineError) as err:
        apply_loras(pipe, parse_loras([str(tmp_path / "adapter.pt")]))
    assert err.value.code == "pickle_refused"


def test_loras_change_the_output_mix_with_weights_and_unload_restores(tiny_model, tmp_path):
    pipe = load_model(tiny_model).pipe
    base = _image_pass(pipe)
    one = write_tiny_lora(tmp_path / "one", seed=1)
    two = write_tiny_lora(tmp_path / "two", seed=2)
    assert discovery.is_lora_file(one)
    apply_loras(pipe, parse_loras([str(one)]))
    with_one = _image_pass(pipe)
    assert (with_one - base).abs().max() > 1e-3
    apply_loras(
        pipe, parse_loras([{"path": str(one), "weight": 1.0}, {"path": str(tmp_path / "two"), "weight": 0.5}])
    )
    both = _image_pass(pipe)
    assert (both - with_one).abs().max() > 1e-4
    apply_loras(pipe, [LoraSpec(str(one), 0.0, "one_0"), LoraSpec(str(two), 0.0, "pytorch_lora_weights_1")])
    assert torch.allclose(_image_pass(pipe), base, atol=1e-6)  # zero strength = the base model
    unload_loras(pipe)
    assert torch.equal(_image_pass(pipe), base)


def test_adapter_layout_equals_our_checkpoint_plus_its_lora(tiny_model, tmp_path):
    adapter = write_tiny_adapter(tmp_path / "adapter", seed=0)
    loaded = load_model(adapter)
    ours = load_model(tiny_model).pipe.transformer.state_dict()
    theirs = loaded.pipe.transformer.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)  # widened base + patch embedding == ours
    assert [Path(s.path).name for s in loaded.loras] == ["pytorch_lora_weights.safetensors"]
    assert loaded.resolution == (32, 32)


def test_hf_cache_is_searched_offline(tiny_model, tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    repo = cache / "models--acme--vivid-tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    shutil.copytree(tiny_model, repo / "snapshots" / "abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    found = [m for m in discovery.discover([tiny_model.parent]) if m.source == "hf-cache"]
    assert [(m.name, m.kind) for m in found] == [("acme/vivid-tiny", "vivid")]
    assert discovery.resolve("acme/vivid-tiny") == repo / "snapshots" / "abc123"
    assert load_model("acme/vivid-tiny").entry.kind == "vivid"
    with pytest.raises(EngineError) as err:
        load_model("acme/not-downloaded")
    assert err.value.code == "model_not_found"
