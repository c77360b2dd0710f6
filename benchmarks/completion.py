"""Flow completion inside a removal's hole, measured against the clip's true flow. Prints JSON.

The cases of ``benchmarks/removal.py`` (real clips as ground truth, moving silhouettes or a grid of
squares pasted over them, ``../shared/data``). The *true* flow is DIS on the clean clip, at the engine's
working resolution; the engine's flow is DIS on the clip with the holes pasted in. For each way of
completing the flow across the (grown) hole:

- ``epe_px``: mean endpoint error (full-resolution pixels) in the hole against the true flow, per frame
  pair, backward flows (t → t − 1) as the fill's forward pass uses them; ``epe_bg_px`` over the hole's
  background part (the rest is the clip's own moving object, whose motion the removal cannot know and
  must not follow); ``epe_true_completed_px``: the
  same completion applied to the true flow (the completion's own error, without DIS's smear);
- the fill through the engine (``DeletionFill``, in this process) with that completion: PSNR in the
  hole, all of it and its background part (away from the clip's own moving object, which no method can
  know), and the warping error (removal.py's) as a ratio to the clean clip's own, all and background;
- ``cpu_ms``: CPU time of one completion call (one frame, one direction; the fill makes two per frame).

Methods: ``smooth`` (push-pull across the hole: the engine until 2026-12-03), ``engine`` (this tree's
``complete_flow``), and ``true_flow`` (the fill given the clean clip's flow, no completion: the floor).

    python benchmarks/completion.py [--frames 20] [--only CASE ...] [--methods smooth engine true_flow]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # removal.py beside this file

import removal

import model_runtime.engines.flow.fill as fill_module
from model_runtime.engines.flow.completion import complete_flow, push_pull
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.masks import edit_region, grow
from vivid_desktop.media.clip_frames import ArrayFrames

Completion = Callable[..., np.ndarray]


def smooth(flow: np.ndarray, hole: np.ndarray, needed: np.ndarray | None = None) -> np.ndarray:
    """The previous completion: push-pull over the hole's box, the hole's size on each side."""
    ys, xs = np.nonzero(hole)
    if not len(ys):
        return flow
    ry, rx = ys.max() - ys.min() + 8, xs.max() - xs.min() + 8
    box = (slice(max(0, ys.min() - ry), ys.max() + ry + 1), slice(max(0, xs.min() - rx), xs.max() + rx + 1))
    out = flow.copy()
    out[box] = push_pull(flow[box], hole[box])
    return out


def as_is(flow: np.ndarray, hole: np.ndarray, needed: np.ndarray | None = None) -> np.ndarray:
    return flow


METHODS: dict[str, Completion] = {"smooth": smooth, "engine": complete_flow, "true_flow": as_is}


def pasted_clip(truth: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for frame, mask in zip(truth, masks, strict=True):
        pasted = frame.copy()
        pasted[mask > 0] = (40, 200, 60)
        out.append(pasted)
    return out


def flow_errors(
    method: Completion, engine: ClipFlow, true: ClipFlow, areas: list[np.ndarray], objects: list[np.ndarray]
) -> dict:
    """Endpoint error in the hole, all of it and its background part (engine's flow and true flow
    completed), and CPU time per call."""
    scale = np.array(engine.scale, np.float32)
    errors, errors_bg, own, cpu = [], [], [], []
    for t in range(1, len(areas)):
        hole, inside = fill_module.work_hole(engine, areas[t])[0], engine.hole_to_work(areas[t], 0)
        bg = inside[inside] & ~engine.hole_to_work(objects[t] > 0, 0)[inside]
        truth, raw = true.backward(t - 1), engine.backward(t - 1)
        start = time.process_time()
        done = method(raw, hole, inside)
        cpu.append(time.process_time() - start)
        errors.append(np.linalg.norm((done - truth) * scale, axis=2)[inside])
        errors_bg.append(errors[-1][bg])
        own.append(np.linalg.norm((method(truth, hole, inside) - truth) * scale, axis=2)[inside])
    return {
        "epe_px": round(float(np.mean(np.concatenate(errors))), 3),
        "epe_bg_px": round(float(np.mean(np.concatenate(errors_bg))), 3),
        "epe_true_completed_px": round(float(np.mean(np.concatenate(own))), 3),
        "cpu_ms": round(1000 * float(np.mean(cpu)), 1),
    }


def fill(method: Completion, flows: ClipFlow, pasted: list[np.ndarray], areas: list[np.ndarray]) -> list:
    """The engine's deletion fill (before compositing) with ``method`` as its flow completion."""
    saved = fill_module.complete_flow
    fill_module.complete_flow = method
    try:
        job = fill_module.DeletionFill(flows, np.stack(pasted), areas, 0)
        done: dict[int, np.ndarray] = {}
        for i, out in job.run(range(len(pasted)), lambda i: done.get(i - 1)):
            done[i] = out
    finally:
        fill_module.complete_flow = saved
    return [done[i] for i in range(len(pasted))]


def run_case(truth: list, masks: list, own: list, methods: list[str]) -> dict:
    pasted = pasted_clip(truth, masks)
    engine, true = ClipFlow(ArrayFrames(pasted)), ClipFlow(ArrayFrames(truth))
    # The engine's areas: the mask grown by ``dilate`` (3), then by the composite's feather band (3 + 1).
    areas = [grow(edit_region(m, removal.DILATE), 4) for m in masks]
    judge = removal.Truth(truth)
    background = [((m > 0) & (o == 0)).astype(np.uint8) for m, o in zip(masks, own, strict=True)]
    floor, floor_bg = judge.warp_error(truth, masks), judge.warp_error(truth, background)
    report: dict[str, object] = {"truth_warp_error_e3": floor, "truth_warp_error_bg_e3": floor_bg}
    for name in methods:
        method = METHODS[name]
        row = flow_errors(method, engine, true, areas, own) if name != "true_flow" else {}
        got = fill(method, true if name == "true_flow" else engine, pasted, areas)
        s = removal.scores(got, truth, masks, own, judge)
        warp_bg = judge.warp_error(got, background)
        row |= {
            "psnr_db": s["psnr_db"],
            "psnr_bg_db": s["psnr_bg_db"],
            "warp_ratio": round(s["warp_error_e3"] / floor, 2),
            "warp_ratio_bg": round(warp_bg / floor_bg, 2),
        }
        report[name] = row
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--only", nargs="*", help="case names (default: all of removal.py's)")
    parser.add_argument("--methods", nargs="*", choices=list(METHODS), default=list(METHODS))
    args = parser.parse_args()
    if not (removal.DATA / "bmx-trees").is_dir():
        print(json.dumps({"skipped": f"{removal.DATA} not found"}))
        return
    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
            "opencv": cv2.__version__,
        }
    }
    for name, (truth, masks, own) in removal.cases(args.frames).items():
        if args.only and name not in args.only:
            continue
        report[name] = run_case(truth, masks, own, args.methods)
        print(name, json.dumps(report[name]), file=sys.stderr, flush=True)
    report["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
