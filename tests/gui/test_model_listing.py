"""The model listing is Qt-free and a LoRA's header is read once (by the runtime's listing)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import vivid_desktop.qt.model_manager as manager
from vivid_desktop.models import lora_metadata, safetensors_header


def write_lora(path: Path, meta: dict) -> Path:
    header = {
        "t.lora_A.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        "__metadata__": {"vivid": json.dumps(meta)},
    }
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0\0\0\0")
    return path


def test_listed_loras_carry_their_metadata_and_are_not_read_again(tmp_path, monkeypatch):
    folder = tmp_path / "loras"
    folder.mkdir()
    listed = write_lora(folder / "style.safetensors", {"rank": 8, "steps": 300})
    elsewhere = write_lora(tmp_path / "other.safetensors", {"rank": 4})
    read: list[str] = []
    monkeypatch.setattr(manager, "lora_metadata", lambda p: read.append(p) or lora_metadata(p))
    found, metas = manager._scan([str(folder)], False, [str(elsewhere)])
    assert [(m.name, m.kind) for m in found] == [("style", "lora")]
    assert metas[str(listed)] == {"rank": 8, "steps": 300}
    assert metas[str(elsewhere)] == {"rank": 4}
    assert read == [str(elsewhere)]  # only the LoRA the listing did not cover is read here
    assert "__metadata__" in safetensors_header(listed)
    assert lora_metadata(tmp_path / "missing.safetensors") == {}
