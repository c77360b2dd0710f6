"""Training settings follow the machine: the CPU preset without a GPU, the GPU's preset with one."""

from __future__ import annotations

import json
from pathlib import Path

from model_runtime.training.__main__ import read_request
from model_runtime.training.machine import needs_machine, with_machine_defaults
from vivid_desktop.cli.main import build_parser
from vivid_desktop.cli.train_cmd import build_request
from vivid_desktop.train_presets import CPU_PRESET, preset_named


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def _cli(tmp_path: Path, *extra: str):
    out = str(tmp_path / "x.safetensors")
    args = ["train", "--data", str(tmp_path), "--model", str(tmp_path), "-o", out, *extra]
    return build_request(build_parser().parse_args(args))


def test_unset_preset_settings_come_from_the_machine(tmp_path):
    out = str(tmp_path / "x.safetensors")
    raw = {"data": str(tmp_path), "model": str(tmp_path), "output": out, "rank": 4}
    assert needs_machine(raw)
    on_cpu, preset, filled = with_machine_defaults(raw, None)
    assert preset is CPU_PRESET and "rank" not in filled and on_cpu["rank"] == 4
    assert (on_cpu["height"], on_cpu["width"], on_cpu["num_frames"]) == (240, 368, 9)
    on_gpu, preset, _ = with_machine_defaults(raw, 79.3)
    assert preset is preset_named("80 GB") and on_gpu["batch_size"] == 4 and on_gpu["rank"] == 4
    assert with_machine_defaults(raw, 23.6)[1] is preset_named("24 GB")
    assert not needs_machine({**raw, **CPU_PRESET.fields()})


def test_vivid_train_writes_only_what_was_given_and_the_trainer_fills_the_rest(tmp_path, monkeypatch):
    request = _cli(tmp_path, "--rank", "8", "--variant", "kive")
    written = json.loads(request.model_dump_json(exclude_unset=True))
    assert written["rank"] == 8 and written["variant"] == "kive" and "height" not in written
    path = tmp_path / "request.json"
    path.write_text(json.dumps(written))
    monkeypatch.setattr("model_runtime.training.__main__.gpu_memory_gib", lambda: None)  # a CPU machine
    log = _Log()
    filled = read_request(path, log)  # type: ignore[arg-type]
    assert (filled.rank, filled.height, filled.num_frames, filled.variant) == (8, 240, 9, "kive")
    assert log.lines == [
        "settings for this machine: the CPU preset's batch_size, gradient_checkpointing, height, "
        "num_frames, train_ff, width"
    ]
    # a preset named on the command line is written out: nothing is left to the machine
    chosen = _cli(tmp_path, "--preset", "48gb", "--batch-size", "1")
    written = json.loads(chosen.model_dump_json(exclude_unset=True))
    assert not needs_machine(written) and written["rank"] == 128 and written["batch_size"] == 1
