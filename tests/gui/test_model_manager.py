"""The model manager: discovery through the runtime's rules, LoRAs with weights, settings persisted."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from vivid_desktop.qt.model_manager import ModelManagerDialog, lora_metadata, vivid_engine_settings
from vivid_desktop.qt.settings import AppSettings


@pytest.fixture
def no_hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-empty"))


def write_lora(path: Path, meta: dict | None = None) -> Path:
    """A LoRA-shaped .safetensors file (header + zero tensors), as diffusers/peft name its keys."""
    tensors = {
        "transformer.transformer_blocks.0.attn1.to_q.lora_A.weight": [2, 8],
        "transformer.transformer_blocks.0.attn1.to_q.lora_B.weight": [8, 2],
    }
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in tensors.items():
        size = shape[0] * shape[1] * 4
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    if meta is not None:
        header["__metadata__"]["vivid"] = json.dumps(meta)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(offset))
    return path


def fun_inp_folder(path: Path) -> Path:
    """The JSON files of a CogVideoX-Fun InP folder (transformer in_channels = 2 × 16 + 1)."""
    (path / "transformer").mkdir(parents=True)
    (path / "vae").mkdir()
    (path / "model_index.json").write_text(json.dumps({"_class_name": "CogVideoXPipeline"}))
    config = {"_class_name": "CogVideoXTransformer3DModel", "in_channels": 33, "num_layers": 42}
    (path / "transformer" / "config.json").write_text(json.dumps(config))
    (path / "vae" / "config.json").write_text(json.dumps({"latent_channels": 16}))
    return path


def open_dialog(qtbot, settings, relay) -> ModelManagerDialog:
    dialog = ModelManagerDialog(settings, relay)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.scans_done >= 1, timeout=15000)
    return dialog


def test_discovers_models_and_persists_choices(qtbot, relay, model, tmp_path, no_hf_cache):
    folder = tmp_path / "models"
    folder.mkdir()
    fun = fun_inp_folder(folder / "Fun-InP")
    lora = write_lora(folder / "cat.safetensors", {"rank": 4, "steps": 12, "dataset": {"samples": 5}})
    settings = AppSettings(tmp_path / "config" / "settings.ini")
    dialog = open_dialog(qtbot, settings, relay)
    assert dialog.models == [] and dialog.status.text().startswith("0 models")

    dialog.add_folder(str(folder))
    dialog.add_folder(str(model))  # a model folder itself is searched too
    qtbot.waitUntil(lambda: len(dialog.models) == 3, timeout=15000)
    kinds = {m.path: m.kind for m in dialog.models}
    assert kinds == {str(fun): "fun-inp", str(model): "vivid", str(lora): "lora"}
    rows = {dialog.model_table.item(r, 0).text(): dialog.model_table.item(r, 1).text() for r in range(2)}
    assert rows["Fun-InP"] == "CogVideoX-Fun InP" and rows["vivid-tiny-seed0"] == "VIVID checkpoint"
    assert dialog.current == str(model), "with no choice yet, our own format is preferred"
    assert dialog.lora_table.item(0, 3).text() == "rank 4, 12 steps, 5 samples"

    fun_row = next(r for r in range(2) if dialog.model_table.item(r, 0).text() == "Fun-InP")
    dialog.model_table.selectRow(fun_row)
    dialog.set_lora(str(lora), enabled=True, weight=0.6)
    dialog.memory.setCurrentIndex(dialog.memory.findData("sequential_offload"))
    dialog.engine.setCurrentIndex(dialog.engine.findData("vivid"))
    with qtbot.waitSignal(dialog.settingsChanged):
        dialog.accept()

    again = AppSettings(tmp_path / "config" / "settings.ini")
    assert again.get("models/folders") == [str(folder), str(model)]
    assert again.get("engine/default") == "vivid"
    assert vivid_engine_settings(again) == {
        "memory": "sequential_offload",
        "model": str(fun),
        "loras": [{"path": str(lora), "weight": 0.6, "name": "cat"}],
    }
    reopened = open_dialog(qtbot, again, relay)
    qtbot.waitUntil(lambda: len(reopened.models) == 3, timeout=15000)
    assert reopened.current == str(fun)
    assert reopened.lora_table.item(0, 0).checkState().value == 2  # checked
    assert reopened.lora_table.cellWidget(0, 2).value() == pytest.approx(0.6)
    reopened.reject()


def test_cancel_keeps_settings_and_lora_files_outside_folders(qtbot, relay, tmp_path, no_hf_cache):
    settings = AppSettings(tmp_path / "config" / "settings.ini")
    extra = write_lora(tmp_path / "mine.safetensors")
    dialog = open_dialog(qtbot, settings, relay)
    dialog.add_lora(str(extra), 0.9)
    qtbot.waitUntil(lambda: dialog.scans_done == 2, timeout=15000)
    assert dialog.lora_table.item(0, 1).text() == "mine"
    assert lora_metadata(extra) == {}  # not ours: no details, still usable
    dialog.reject()
    assert AppSettings(tmp_path / "config" / "settings.ini").get("models/loras") == []
    dialog = open_dialog(qtbot, settings, relay)
    dialog.add_lora(str(extra), 0.9)
    dialog.accept()
    stored = vivid_engine_settings(AppSettings(tmp_path / "config" / "settings.ini"))
    assert stored["loras"] == [{"path": str(extra), "weight": 0.9, "name": "mine"}]
    assert "model" not in stored  # nothing found, nothing chosen
