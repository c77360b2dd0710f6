"""Malformed and pickled weights where the editor meets them without loading torch: model discovery.

Loading itself (pickles refused, LoRAs) is tested with a tiny model in tests/vivid/test_loading.py.
"""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import pytest

from model_runtime.vivid import discovery

MALFORMED = {
    "empty": b"",
    "garbage": b"garbage" * 100,
    "short": b"\x01\x02",
    "huge header": struct.pack("<Q", 2**62) + b"{}",
    "bad json": struct.pack("<Q", 10) + b"{not json}",
    "a list": struct.pack("<Q", 2) + b"[]",
    "not utf-8": struct.pack("<Q", 4) + b"\xff\xfe\xfd\xfc",
    "truncated": struct.pack("<Q", 500) + b'{"lora_A.weight": {"dtype": "F32", "sha',
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_safetensors_file_is_one_clear_error(tmp_path, name):
    path = tmp_path / "adapter.safetensors"
    path.write_bytes(MALFORMED[name])
    with pytest.raises(ValueError, match=r"adapter\.safetensors: (not a safetensors|implausible)") as caught:
        discovery.safetensors_keys(path)
    assert "\n" not in str(caught.value)
    assert discovery.is_lora_file(path) is False


def test_a_valid_header_lists_its_tensors(tmp_path):
    header = json.dumps(
        {"__metadata__": {}, "x.lora_A.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    )
    path = tmp_path / "lora.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0" * 4)
    assert discovery.safetensors_keys(path) == ["x.lora_A.weight"] and discovery.is_lora_file(path)


def test_pickled_weights_are_never_opened_while_listing_models(tmp_path, monkeypatch):
    """A folder of pickles with model configs: listing it reads JSON only (pickle.load never runs)."""
    root = tmp_path / "pickled"
    (root / "transformer").mkdir(parents=True)
    (root / "model_index.json").write_text("{}")
    config = {"_class_name": "CogVideoXTransformer3DModel", "in_channels": 33}
    (root / "transformer" / "config.json").write_text(json.dumps(config))
    (root / "transformer" / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps({"w": 1}))
    (root / "lora.pt").write_bytes(pickle.dumps({"w": 1}))

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was opened")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    entry = discovery.inspect_folder(root)
    assert entry is not None and entry.kind == "fun-inp"
    assert discovery.is_lora_file(root / "lora.pt") is False


def test_a_folder_with_broken_configs_is_not_a_model(tmp_path):
    root = tmp_path / "broken"
    (root / "transformer").mkdir(parents=True)
    (root / "model_index.json").write_text("{not json")
    (root / "transformer" / "config.json").write_bytes(b"\xff\xfe")
    assert discovery.inspect_folder(root) is None
    assert discovery.inspect_folder(Path(tmp_path / "nothing")) is None
