"""The ``train`` job through a real runtime: loss as metrics, renders as frames, one terminal event."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from train_helpers import small_request

from vivid_desktop.datasets.synthetic import make_dataset, write_image_sample
from vivid_desktop.runtime_client import LaunchSpec, RuntimeClient


def test_train_job_streams_metrics_and_renders_then_refuses_a_broken_dataset(tmp_path, tiny_model):
    data = make_dataset(tmp_path / "data", images=2, clips=0)
    (data / "validation").mkdir()
    write_image_sample(data / "validation", "val", seed=9)
    request = small_request(
        data, tiny_model, tmp_path / "lora.safetensors", steps=6, validate_every=3, val_loss_every=3
    )
    broken = make_dataset(tmp_path / "broken", images=2, clips=0)
    (broken / "img1.mask.png").unlink()

    env = {"OMP_NUM_THREADS": "2", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    client = RuntimeClient(LaunchSpec(env={**os.environ, **env}, start_timeout=60.0))
    client.start()
    try:
        events = []
        lock = threading.Lock()

        def collect(msg):
            with lock:
                events.append(msg)

        job = client.submit(request, on_event=collect)
        terminal = job.wait(180)
        assert terminal.msg_type == "succeeded", getattr(terminal.content, "message", "")
        result = terminal.content.result
        assert Path(result["lora"]).is_file() and result["steps"] == 6
        with lock:
            metrics = [(e.content.step, e.content.values) for e in events if e.msg_type == "metrics"]
            frames = [(e.content.frame, e.content.path) for e in events if e.msg_type == "frame_ready"]
        losses = [(s, v) for s, v in metrics if "loss" in v]
        assert [s for s, _ in losses] == [1, 2, 3, 4, 5, 6]  # never merged or dropped
        assert all(set(v) == {"loss", "lr"} for _, v in losses)
        # val_loss as metrics of its own: before the first step, every 3 steps
        assert [(s, set(v)) for s, v in metrics if "loss" not in v] == [(s, {"val_loss"}) for s in (0, 3, 6)]
        assert [f for f, _ in frames] == [3, 6] and all(Path(p).is_file() for _, p in frames)

        refused = client.submit(small_request(broken, tiny_model, tmp_path / "b.safetensors"))
        failed = refused.wait(60)
        assert failed.msg_type == "failed" and failed.content.code == "dataset_invalid"
        assert "img1.png: missing mask" in failed.content.message
    finally:
        client.shutdown()
