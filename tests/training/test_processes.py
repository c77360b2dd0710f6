"""The trainer as a process: killed and resumed, ``vivid train``, two data-parallel processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from train_helpers import RecordingContext, run_module, small_request

from model_runtime.training.loop import Trainer
from vivid_desktop.datasets.synthetic import make_dataset, write_image_sample

ENV = {**os.environ, "OMP_NUM_THREADS": "2", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def losses(path: Path) -> list[tuple[int, float]]:
    entries = map(json.loads, path.read_text().splitlines())
    return [(e["step"], e["loss"]) for e in entries if "loss" in e]  # val_loss records have their own


def test_killed_run_resumes_on_the_uninterrupted_curve(tmp_path, tiny_model):
    data = make_dataset(tmp_path / "data", images=3, clips=0)
    settings = {"steps": 30, "checkpoint_every": 5, "cache_dir": str(tmp_path / "cache")}  # encode once
    straight = small_request(data, tiny_model, tmp_path / "a.safetensors", **settings)
    Trainer(straight, RecordingContext()).run()
    expected = losses(Path(straight.output + ".work/loss.jsonl"))

    request = small_request(data, tiny_model, tmp_path / "b.safetensors", **settings)
    request_file = tmp_path / "request.json"
    request_file.write_text(request.model_dump_json())
    cmd = [sys.executable, "-m", "model_runtime.training", str(request_file)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV)
    assert child.stdout is not None
    for line in child.stdout:
        event = json.loads(line)
        if event["event"] == "metrics" and event["step"] >= 8:
            child.kill()  # SIGKILL: no chance to save anything
            break
    child.wait(timeout=60)
    child.stdout.close()
    assert child.returncode == -9 and not Path(request.output).exists()
    work = Path(request.output + ".work")
    assert any(p.name.startswith("step-") for p in (work / "checkpoints").iterdir())

    ctx = RecordingContext()  # resume in this process: the same code, one interpreter start less
    result = Trainer(request, ctx).run()
    assert result.resumed_from in (5, 10) and Path(request.output).exists()
    assert any(m.startswith("resumed from step") for m in ctx.logs)
    got = losses(work / "loss.jsonl")
    assert [s for s, _ in got] == list(range(1, 31))  # every step once: the killed tail was dropped
    np.testing.assert_allclose([v for _, v in got], [v for _, v in expected], rtol=1e-5)


def test_vivid_train_refuses_a_broken_dataset_naming_the_samples(tmp_path, tiny_model):
    data = make_dataset(tmp_path / "data", images=1, clips=0)
    write_image_sample(data, "lonely", seed=3)
    (data / "lonely.mask.png").unlink()
    (data / "img0.txt").unlink()
    out = tmp_path / "lora.safetensors"
    cmd = [
        "-m",
        "vivid_desktop.cli.main",
        "train",
        "--data",
        str(data),
        "--model",
        str(tiny_model),
        "-o",
        str(out),
    ]
    result = run_module(cmd, env=ENV)
    assert result.returncode == 1
    assert "lonely.png: missing mask" in result.stderr and "img0.png: missing caption" in result.stderr
    assert not out.exists()


def test_vivid_train_with_two_data_parallel_processes(tmp_path, tiny_model):
    data = make_dataset(tmp_path / "data", images=2, clips=0)
    out = tmp_path / "lora.safetensors"
    cmd = [
        "-m",
        "vivid_desktop.cli.main",
        "train",
        "--data",
        str(data),
        "--model",
        str(tiny_model),
        "-o",
        str(out),
    ]
    cmd += ["--steps", "3", "--rank", "4", "--height", "32", "--width", "32", "--num-frames", "5"]
    cmd += ["--warmup-steps", "1", "--validate-every", "0", "--no-checkpointing", "--processes", "2"]
    result = run_module(cmd, timeout=180, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == str(out) and out.exists()
    assert "train: step 3/3" in result.stderr
    log = out.with_name("lora.loss.jsonl")
    assert [s for s, _ in losses(log)] == [1, 2, 3]  # one line per step: only the main process writes
    state = json.loads((tmp_path / "lora.safetensors.work/checkpoints/step-000003/state.json").read_text())
    assert state["identity"]["world"] == 2
