"""Farm rendering on a real local Ray cluster (2 CPUs): same frames as a local render, retries, batches."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest
import tqdm

from model_runtime.engines import get_engine
from model_runtime.farm import split_plan
from model_runtime.farm.ray_cluster import render_on_cluster
from vivid_desktop.cli.batch_cmd import BatchError, read_batch
from vivid_desktop.cli.main import main
from vivid_desktop.media.synth import pan_scene, write_clip
from vivid_desktop.protocol.jobs import KeyframeSpec, RenderPlan

# diffusers' progress bars would start tqdm's process-wide monitor thread (flagged as a leak).
tqdm.tqdm.monitor_interval = 0


@dataclass
class Recorder:
    """A JobContext that records the frames announced; ``on_frame`` runs after each one."""

    frames: list[int] = field(default_factory=list)
    on_frame: object = None

    def progress(self, done, total, message="", preview=None):
        pass

    def frame_ready(self, frame, path, preview=None):
        assert Path(path).is_file() and preview is not None
        self.frames.append(frame)
        if self.on_frame is not None:
            self.on_frame(frame)

    def check_cancelled(self):
        pass

    def log(self, message):
        pass


@pytest.fixture(scope="module")
def cluster():
    from model_runtime.farm.ray_cluster import connect

    ray = connect("local", num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """A lossless 30-frame pan with a drifting object and its per-frame masks."""
    folder = tmp_path_factory.mktemp("shot")
    scene = pan_scene(n_frames=30, width=96, height=64, seed=4)
    clip = write_clip(folder / "pan.mkv", scene.frames, codec="ffv1", pix_fmt="bgr0")
    masks = folder / "masks"
    masks.mkdir()
    for n, mask in enumerate(scene.masks):
        cv2.imwrite(str(masks / f"{n:06d}.png"), cv2.dilate(mask, np.ones((5, 5), np.uint8)))
    return clip, masks, scene


def _delete_plan(shot, out: Path, cache: Path) -> RenderPlan:
    clip, masks, _ = shot
    return RenderPlan(
        source=str(clip), start=0, stop=30, mask_dir=str(masks), task="delete", engine="flow",
        settings={"cache_dir": str(cache)}, output_dir=str(out),
    )  # fmt: skip


def _pixels(folder: Path) -> dict[int, np.ndarray]:
    return {int(p.stem): cv2.imread(str(p)) for p in sorted(folder.glob("[0-9]*.png"))}


def _assert_same(a: Path, b: Path, frames: range) -> None:
    pa, pb = _pixels(a), _pixels(b)
    assert sorted(pa) == sorted(pb) == list(frames)
    for n in frames:
        assert np.array_equal(pa[n], pb[n]), f"frame {n} differs from the local render"


def test_parts_follow_keyframe_segments():
    keys = [KeyframeSpec(frame=f, mask=f"/m/{f}.png", image=f"/k/{f}.png") for f in (0, 10, 25)]
    plan = RenderPlan(source="/c.mp4", start=0, stop=40, mask="/m.png", keyframes=keys, task="modify",
                      engine="vivid", output_dir="/out")  # fmt: skip
    parts = split_plan(plan)
    assert [(p.start, p.stop) for p in parts] == [(0, 10), (10, 25), (25, 40)]
    assert [[k.frame for k in p.keyframes] for p in parts] == [[0, 10], [10, 25], [25]]
    late = plan.model_copy(update={"start": 5})  # frames before the first keyframe are a part of their own
    assert [(p.start, p.stop) for p in split_plan(late)] == [(5, 10), (10, 25), (25, 40)]
    # A flow render reads the whole clip for every frame: one part.
    assert split_plan(plan.model_copy(update={"engine": "flow"})) == [
        plan.model_copy(update={"engine": "flow"})
    ]


def test_flow_render_on_ray_equals_the_local_render(cluster, shot, tmp_path):
    local = _delete_plan(shot, tmp_path / "local", tmp_path / "cache-local")
    get_engine("flow").propagate(local, Recorder())
    farmed = _delete_plan(shot, tmp_path / "farm", tmp_path / "cache-farm")
    ctx = Recorder()
    render_on_cluster([farmed], "local", ctx)
    _assert_same(tmp_path / "local", tmp_path / "farm", range(30))
    assert sorted(ctx.frames) == list(range(30))  # each frame announced once

    # Resume: a finished render is not sent to the cluster again; a missing frame is rendered again.
    (tmp_path / "farm" / "000007.png").unlink()
    again = Recorder()
    render_on_cluster([farmed], "local", again)
    assert again.frames == [7]
    _assert_same(tmp_path / "local", tmp_path / "farm", range(30))


def _kill_part_workers() -> int:
    killed = 0
    for proc in psutil.process_iter(["cmdline"]):
        if "_render_part" in " ".join(proc.info["cmdline"] or []):
            proc.kill()
            killed += 1
    return killed


def test_a_worker_killed_mid_part_is_retried(cluster, shot, tmp_path):
    local = _delete_plan(shot, tmp_path / "local", tmp_path / "cache-local")
    get_engine("flow").propagate(local, Recorder())
    kills: list[int] = []

    def kill_once(frame: int) -> None:
        if not kills:
            kills.append(_kill_part_workers())

    ctx = Recorder(on_frame=kill_once)
    render_on_cluster([_delete_plan(shot, tmp_path / "farm", tmp_path / "cache-farm")], "local", ctx)
    assert kills == [1]  # the worker rendering the part was killed after its first frame
    _assert_same(tmp_path / "local", tmp_path / "farm", range(30))
    assert sorted(ctx.frames) == list(range(30))  # Ray re-ran the part; no frame was announced twice


def test_vivid_segments_on_ray_equal_the_local_render(cluster, tmp_path):
    from model_runtime.vivid.tiny import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny", seed=0)
    scene = pan_scene(n_frames=17, width=48, height=32, seed=3)
    clip = write_clip(tmp_path / "pan.mkv", scene.frames, codec="ffv1", pix_fmt="bgr0")
    mask = np.zeros((32, 48), np.uint8)
    mask[8:24, 16:36] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    keys = []
    for f in (5, 11):
        key = scene.frames[f].copy()
        key[mask > 0] = (30, 200, 90)
        cv2.imwrite(str(tmp_path / f"key{f}.png"), cv2.cvtColor(key, cv2.COLOR_RGB2BGR))
        keys.append(
            KeyframeSpec(frame=f, mask=str(tmp_path / "mask.png"), image=str(tmp_path / f"key{f}.png"))
        )

    def plan(out: str) -> RenderPlan:
        return RenderPlan(
            source=str(clip), start=0, stop=17, mask=str(tmp_path / "mask.png"), keyframes=keys,
            task="modify", caption="a green box", engine="vivid", seed=3,
            settings={"model": str(model), "steps": 2}, output_dir=str(tmp_path / out),
        )  # fmt: skip

    assert len(split_plan(plan("x"))) == 3
    get_engine("vivid").propagate(plan("local"), Recorder())
    render_on_cluster([plan("farm")], "local", Recorder())
    _assert_same(tmp_path / "local", tmp_path / "farm", range(17))


def test_batch_file_errors_name_the_line(tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"clip": "a.mp4", "mask": "a.png", "task": "delete", "output": "a.mp4"}\n{"clip": 3}\n')
    with pytest.raises(BatchError, match="line 2: missing mask, task, output"):
        read_batch(jobs)
    jobs.write_text('{"clip": "a.mp4", "mask": "a.png", "task": "erase", "output": "a.mp4"}\n')
    with pytest.raises(BatchError, match=r"line 1: .*invalid choice: 'erase'"):
        read_batch(jobs)
    jobs.write_text('{"clip": "a.mp4", "mask": "m/", "task": "delete", "output": "o.mov", "range": "0:9"}\n')
    (shot,) = read_batch(jobs)
    assert shot.clip == tmp_path / "a.mp4" and shot.output == tmp_path / "o.mov" and shot.range == "0:9"
    line = (
        '{"clip": "a.mp4", "mask": "m/", "task": "modify", "keyframe": ["12=k/hat.png"], "output": "o.mov"}'
    )
    jobs.write_text(line + "\n")
    (shot,) = read_batch(jobs)
    assert shot.keyframe == [f"12={tmp_path / 'k' / 'hat.png'}"]  # read from the file's folder, not here


def test_cli_batch_of_two_shots_on_ray_equals_the_batch_here(shot, tmp_path, capsys):
    clip, masks, _ = shot
    lines = [
        {"clip": str(clip), "mask": str(masks), "task": "delete", "output": "one.mkv", "range": "0:20"},
        {"clip": str(clip), "mask": str(masks / "000004.png"), "task": "delete", "output": "two.mkv"},
    ]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["batch", str(jobs), "--work", str(tmp_path / "here")]) == 0, capsys.readouterr().err
    capsys.readouterr()
    for name in ("one.mkv", "two.mkv"):
        (tmp_path / name).rename(tmp_path / f"here-{name}")
    rc = main(["batch", str(jobs), "--ray", "local", "--work", str(tmp_path / "farm")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out.split() == [str(tmp_path / "one.mkv"), str(tmp_path / "two.mkv")]
    _assert_same(tmp_path / "here/shot-000/render", tmp_path / "farm/shot-000/render", range(20))
    _assert_same(tmp_path / "here/shot-001/render", tmp_path / "farm/shot-001/render", range(30))
