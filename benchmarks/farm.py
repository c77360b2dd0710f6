"""Farm rendering: the speed-up of a long clip with several keyframes on a local Ray cluster. Prints JSON.

A tiny seeded vivid model (CPU) renders a clip with keyframes every ``--every`` frames three ways: in one
process as the runtime does (``local``), on a local Ray cluster with one worker CPU (``ray_1``) and with
two (``ray_2``). Each Ray run starts its own cluster (the start-up is reported apart, ``cluster_start_s``,
and not counted in the render time). The frames of every run are checked to equal the local render.

    python benchmarks/farm.py [--frames 97] [--every 24] [--size 96x64] [--steps 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


class _Quiet:
    def progress(self, *a, **k):
        pass

    def frame_ready(self, *a, **k):
        pass

    def check_cancelled(self):
        pass

    def log(self, message):
        pass


def _inputs(folder: Path, frames: int, every: int, width: int, height: int):
    from vivid_desktop.media.synth import pan_scene, write_clip
    from vivid_desktop.protocol.jobs import KeyframeSpec

    scene = pan_scene(n_frames=frames, width=width, height=height, seed=2)
    clip = write_clip(folder / "clip.mkv", scene.frames, codec="ffv1", pix_fmt="bgr0")
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = 255
    cv2.imwrite(str(folder / "mask.png"), mask)
    keys = []
    for f in range(0, frames, every):
        key = scene.frames[f].copy()
        key[mask > 0] = (30, 200, 90)
        cv2.imwrite(str(folder / f"key{f}.png"), cv2.cvtColor(key, cv2.COLOR_RGB2BGR))
        keys.append(KeyframeSpec(frame=f, mask=str(folder / "mask.png"), image=str(folder / f"key{f}.png")))
    return clip, keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=97)
    parser.add_argument("--every", type=int, default=24)
    parser.add_argument("--size", default="96x64")
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    import ray

    from model_runtime.engines import get_engine
    from model_runtime.farm import split_plan
    from model_runtime.farm.ray_cluster import connect, render_on_cluster
    from model_runtime.vivid.tiny import write_tiny_model
    from vivid_desktop.protocol.jobs import RenderPlan

    folder = Path(tempfile.mkdtemp(prefix="vivid-farm-bench-"))
    model = write_tiny_model(folder / "tiny", seed=0)
    clip, keys = _inputs(folder, args.frames, args.every, width, height)

    def plan(out: str) -> RenderPlan:
        return RenderPlan(
            source=str(clip), start=0, stop=args.frames, mask=str(folder / "mask.png"), keyframes=keys,
            task="modify", caption="a green box", engine="vivid", seed=1,
            settings={"model": str(model), "steps": args.steps}, output_dir=str(folder / out),
        )  # fmt: skip

    result: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "frames": args.frames,
        "size": args.size,
        "keyframes": [k.frame for k in keys],
        "parts": len(split_plan(plan("x"))),
        "steps": args.steps,
    }
    t = time.perf_counter()
    get_engine("vivid").propagate(plan("local"), _Quiet())
    result["local_s"] = round(time.perf_counter() - t, 2)
    reference = {p.name: cv2.imread(str(p)) for p in sorted((folder / "local").glob("*.png"))}
    for cpus in (1, 2):
        t = time.perf_counter()
        connect("local", num_cpus=cpus)
        result[f"cluster_start_s_{cpus}"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        render_on_cluster([plan(f"ray{cpus}")], "local", _Quiet())
        result[f"ray_{cpus}_s"] = round(time.perf_counter() - t, 2)
        ray.shutdown()
        same = all(
            np.array_equal(cv2.imread(str(folder / f"ray{cpus}" / name)), image)
            for name, image in reference.items()
        )
        result[f"ray_{cpus}_equals_local"] = same
    result["speedup_2_over_1"] = round(result["ray_1_s"] / result["ray_2_s"], 2)  # type: ignore[operator]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
