"""Real model folders: a sentencepiece tokenizer, Fun checkpoints with prefixed shards, broken files.

CogVideoX ships its T5 tokenizer as ``spiece.model``; the test trains a tiny sentencepiece model and
writes the folder the way the real one looks, so the loading path is transformers' own conversion.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from model_runtime.engines.base import EngineError
from model_runtime.engines.vivid import VividEngine
from model_runtime.vivid import discovery
from model_runtime.vivid.loading import load_model
from model_runtime.vivid.weights import check_safetensors

CORPUS = [
    "a red balloon floats over the trees",
    "remove objects and generate areas that blend with the background",
    "a small dog runs on the grass",
] * 20


def write_spm_tokenizer(folder: Path) -> Path:
    """A T5-style tokenizer folder (``spiece.model`` + JSON), trained here with sentencepiece."""
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_prefix=str(folder / "spiece"),
        vocab_size=48,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    (folder / "spiece.vocab").unlink()
    special = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    config = {"tokenizer_class": "T5Tokenizer", "model_max_length": 226, "extra_ids": 0, **special}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "special_tokens_map.json").write_text(json.dumps(special))
    return folder


def test_a_sentencepiece_tokenizer_folder_loads(tiny_model, tmp_path):
    import sentencepiece as spm

    model = shutil.copytree(tiny_model, tmp_path / "spm-model")
    shutil.rmtree(model / "tokenizer")
    tok_dir = write_spm_tokenizer(model / "tokenizer")
    pipe = load_model(model).pipe
    expected = spm.SentencePieceProcessor(model_file=str(tok_dir / "spiece.model")).encode("a red balloon")
    assert pipe.tokenizer("a red balloon").input_ids == [*expected, 1]  # T5 appends </s>
    embeds = pipe.encode_prompt("a red balloon")
    assert embeds.shape[1] == pipe.transformer.config.max_text_seq_length and torch.isfinite(embeds).all()


def _fun_prefixed(src: Path, dst: Path) -> Path:
    """Fun layout whose shards carry training prefixes (so ``from_pretrained`` cannot map them)."""
    shutil.copytree(src, dst)
    (dst / "vivid.json").unlink()
    tdir = dst / "transformer"
    config = json.loads((tdir / "config.json").read_text())
    (tdir / "config.json").write_text(json.dumps({**config, "add_noise_in_inpaint_model": True}))
    state = load_file(str(tdir / "diffusion_pytorch_model.safetensors"))
    (tdir / "diffusion_pytorch_model.safetensors").unlink()
    keys = sorted(state)
    for i, part in enumerate((keys[::2], keys[1::2]), start=1):
        shard = {f"module.{k}": state[k].contiguous() for k in part}
        save_file(shard, str(tdir / f"diffusion_pytorch_model-0000{i}-of-00002.safetensors"))
    return dst


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fun_checkpoint_with_prefixed_shards_loads_on_the_meta_path(tiny_model, tmp_path, dtype):
    fun = load_model(_fun_prefixed(tiny_model, tmp_path / "fun"), dtype=dtype).pipe.transformer
    ours = load_model(tiny_model).pipe.transformer
    a, b = fun.state_dict(), ours.state_dict()
    assert a.keys() == b.keys()
    assert all(a[k].dtype == dtype and torch.equal(a[k], b[k].to(dtype)) for k in a)
    assert not any(t.is_meta for t in [*fun.parameters(), *fun.buffers()])


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:-100])


def _pickle_renamed(p: Path) -> None:
    p.write_bytes(b"\x80\x04\x95not a safetensors file at all, nothing here is opened")


def _bad_header(p: Path) -> None:
    p.write_bytes((20).to_bytes(8, "little") + b"{not json:::::::::::" + b"\x00" * 64)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [(_truncate, "truncated"), (_pickle_renamed, "does not fit"), (_bad_header, "not JSON")],
)
def test_malformed_weight_files_are_model_invalid_with_the_reason(tiny_model, tmp_path, damage, reason):
    model = shutil.copytree(tiny_model, tmp_path / "broken")
    target = model / "vae" / "diffusion_pytorch_model.safetensors"
    damage(target)
    with pytest.raises(EngineError) as err:
        load_model(model)
    assert err.value.code == "model_invalid"
    assert reason in err.value.message and target.name in err.value.message
    with pytest.raises(EngineError, match=reason):
        check_safetensors(target)


def test_pickle_suffixes_are_compared_case_insensitively(tiny_model, tmp_path):
    model = shutil.copytree(tiny_model, tmp_path / "upper")
    for f in (model / "text_encoder").glob("*.safetensors"):
        f.unlink()
    (model / "text_encoder" / "MODEL.BIN").write_bytes(b"\x80\x04never opened")
    with pytest.raises(EngineError) as err:
        load_model(model)
    assert err.value.code == "pickle_refused" and "MODEL.BIN" in err.value.message


def test_one_bad_config_skips_that_folder_not_the_engine(tiny_model, tmp_path, monkeypatch):
    root = tmp_path / "models"
    good = shutil.copytree(tiny_model, root / "good")
    for name, text in (("bad-json", "{nope"), ("bad-values", json.dumps({"in_channels": "many"}))):
        bad = shutil.copytree(tiny_model, root / name)
        config = json.loads((bad / "transformer" / "config.json").read_text())
        if name == "bad-values":
            text = json.dumps({**config, "in_channels": "many"})
        (bad / "transformer" / "config.json").write_text(text)
    (root / "bad-vae").mkdir()
    shutil.copytree(tiny_model, root / "bad-vae", dirs_exist_ok=True)
    (root / "bad-vae" / "vae" / "config.json").write_text("[1, 2]")
    found = discovery.discover([root], include_hf_cache=False)
    assert sorted(Path(e.path).name for e in found) == ["bad-vae", "good"]
    monkeypatch.setenv("VIVID_MODEL_DIRS", str(root))
    info = VividEngine().info()
    assert info.available and {Path(m["path"]).name for m in info.details["models"]} >= {"good"}
    for name in ("bad-values", "bad-vae"):
        with pytest.raises(EngineError) as err:
            load_model(root / name)
        assert err.value.code == "model_invalid", name
    assert load_model(good).entry.kind == "vivid"
