"""The classical flow engine: speed, quality on clips with ground truth, and a real clip. Prints JSON.

- ``speed``: deletion propagated end to end (decode H.264, flow, fill, composite, PNG writes) on a
  synthetic pan at 432×240 and 854×480, with the flow computed (``cold``) and read from the cache
  (``cached``). Goal: ≥ 10 fps at 854×480 on 2 cores.
- ``quality`` (24-frame lossless clips at 320×192, and the pan at 854×480): PSNR inside the object's mask
  against the true background, ours versus per-frame ``cv2.inpaint`` (Telea) on the same grown mask, and
  mask-tracking IoU against the true masks.
- ``bmx_trees``: the DAVIS "bmx-trees" clip (``../shared/data/bmx-trees``, research-only licence: never
  copied into the project) with its per-frame masks: deletion fps; PSNR of a textured blob slid over the
  real footage and deleted (truth: the original frames); tracking IoU from sparse anchors; before/after
  frames written to ``--out`` for a look, and a small downscaled contact sheet written to
  ``docs/images/flow_bmx_trees.png``.

- ``--tracking-only``: just the mask-tracking figures (synthetic scenes, bmx-trees) with tracking fps
  (flows computed beforehand, not counted), for quick comparisons.

    python benchmarks/flow_engine.py [--frames 60] [--bmx DIR] [--out /tmp/flow_bmx] [--no-sheet]
                                     [--tracking-only]
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

from model_runtime.engines.flow import FlowEngine
from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.track import track_masks
from vivid_desktop.media.clip_frames import ArrayFrames
from vivid_desktop.media.synth import deforming_scene, pan_scene, write_clip
from vivid_desktop.protocol.jobs import RenderPlan

ROOT = Path(__file__).resolve().parents[1]
#: H.264 in RGB at qp 0: decoded frames equal the written ones, so PSNR measures the engine alone.
LOSSLESS = {"codec": "libx264rgb", "pix_fmt": "rgb24", "options": {"qp": "0"}}


class QuietContext:
    """A job context that only counts frames."""

    def __init__(self) -> None:
        self.frames = 0

    def progress(self, done, total, message="", preview=None) -> None:
        pass

    def frame_ready(self, frame, path, preview=None) -> None:
        self.frames += 1

    def check_cancelled(self) -> None:
        pass

    def log(self, message) -> None:
        pass


def write_masks(folder: Path, masks: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, mask in enumerate(masks):
        cv2.imwrite(str(folder / f"{n:06d}.png"), mask)
    return folder


def delete(clip: Path, masks: Path, out: Path, cache: Path, count: int) -> float:
    """Run one deletion; returns seconds."""
    plan = RenderPlan(
        source=str(clip), start=0, stop=count, mask_dir=str(masks), task="delete", output_dir=str(out),
        settings={"cache_dir": str(cache)},
    )  # fmt: skip
    ctx = QuietContext()
    start = time.perf_counter()
    FlowEngine().propagate(plan, ctx)
    seconds = time.perf_counter() - start
    assert ctx.frames == count
    return seconds


def speed(tmp: Path, frames: int) -> dict:
    result = {}
    for width, height in ((432, 240), (854, 480)):
        scene = pan_scene(frames, width, height, velocity=(3.0, 1.0), object_size=0.3, seed=3)
        folder = tmp / f"speed{width}"
        folder.mkdir()
        clip = write_clip(folder / "clip.mp4", scene.frames)  # H.264 4:2:0, as cameras and phones write
        masks = write_masks(folder / "masks", scene.masks)
        cold = delete(clip, masks, folder / "out1", folder / "cache", frames)
        cached = delete(clip, masks, folder / "out2", folder / "cache", frames)
        result[f"{width}x{height}"] = {
            "cold_fps": round(frames / cold, 1),
            "cached_fps": round(frames / cached, 1),
            "masked_fraction": round(float(np.mean([m.mean() / 255 for m in scene.masks])), 3),
        }
    return result


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return round(
        float(10 * np.log10(255.0**2 / max(np.mean((a.astype(float) - b.astype(float)) ** 2), 1e-9))), 2
    )


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0) & (b > 0)).sum() / max(1, ((a > 0) | (b > 0)).sum()))


def quality(tmp: Path) -> dict:
    result = {}
    cases = (
        ("pan", pan_scene, 320, 192),
        ("deforming", deforming_scene, 320, 192),
        ("pan_854", pan_scene, 854, 480),
    )
    for name, make, width, height in cases:
        scene = make(24, width, height)
        folder = tmp / f"quality_{name}"
        folder.mkdir()
        clip = write_clip(folder / "clip.mkv", scene.frames, **LOSSLESS)
        masks = write_masks(folder / "masks", scene.masks)
        delete(clip, masks, folder / "out", folder / "cache", 24)
        ours, base, truth = [], [], []
        grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
        for n in range(24):
            hidden = scene.masks[n] > 0
            out = cv2.cvtColor(cv2.imread(str(folder / "out" / f"{n:06d}.png")), cv2.COLOR_BGR2RGB)
            inpainted = cv2.inpaint(scene.frames[n], cv2.dilate(scene.masks[n], grow), 5, cv2.INPAINT_TELEA)
            ours.append(out[hidden])
            base.append(inpainted[hidden])
            truth.append(scene.background[n][hidden])
        flows = ClipFlow(ArrayFrames(scene.frames))
        tracking = {}
        for label, anchors in (("anchor_0", [0]), ("anchors_0_23", [0, 23])):
            got = dict(track_masks(flows, {a: scene.masks[a] for a in anchors}, 0, 24))
            tracking[label] = round(float(np.mean([iou(got[n], scene.masks[n]) for n in range(24)])), 3)
        result[name] = {
            "delete_psnr_db": psnr(np.concatenate(ours), np.concatenate(truth)),
            "cv2_inpaint_psnr_db": psnr(np.concatenate(base), np.concatenate(truth)),
            "tracking_mean_iou": tracking,
        }
    return result


def synthetic_hole(tmp: Path, frames: list[np.ndarray], riders: list[np.ndarray], speed: float) -> dict:
    """Real background, known truth: a textured blob slides over the clip and is deleted (with the
    rider, whose pixels are left out of the score), PSNR in the blob against the original frames."""
    n, (h, w) = len(frames), frames[0].shape[:2]
    skin = cv2.resize(np.random.default_rng(1).integers(0, 255, (12, 12, 3), np.uint8), (w, h))
    clip_frames, masks, scored = [], [], []
    for t in range(n):
        blob = np.zeros((h, w), np.uint8)
        cv2.ellipse(blob, (int(60 + speed * t), int(130 + 20 * np.sin(t / 6))), (60, 45), 0, 0, 360, 255, -1)
        frame = frames[t].copy()
        frame[blob > 0] = skin[blob > 0]
        rider = cv2.dilate(riders[t], np.ones((9, 9), np.uint8))
        clip_frames.append(frame)
        masks.append(blob | rider)
        scored.append((blob > 0) & (rider == 0))
    folder = tmp / f"hole{speed:g}"
    folder.mkdir()
    clip = write_clip(folder / "clip.mkv", clip_frames, **LOSSLESS)
    delete(clip, write_masks(folder / "masks", masks), folder / "out", folder / "cache", n)
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    ours, base, truth = [], [], []
    for t in range(n):
        out = cv2.cvtColor(cv2.imread(str(folder / "out" / f"{t:06d}.png")), cv2.COLOR_BGR2RGB)
        inpainted = cv2.inpaint(clip_frames[t], cv2.dilate(masks[t], grow), 5, cv2.INPAINT_TELEA)
        ours.append(out[scored[t]])
        base.append(inpainted[scored[t]])
        truth.append(frames[t][scored[t]])
    return {
        "blob_px_per_frame": speed,
        "delete_psnr_db": psnr(np.concatenate(ours), np.concatenate(truth)),
        "cv2_inpaint_psnr_db": psnr(np.concatenate(base), np.concatenate(truth)),
    }


def tracking_scores(frames: list[np.ndarray], masks: list[np.ndarray], anchors: list[int]) -> dict:
    """Mean IoU of the tracked masks on the frames that are not anchors, and tracking fps (flows ready)."""
    flows = ClipFlow(ArrayFrames(frames))
    flows.ensure(0, len(frames), frames=frames)
    start = time.perf_counter()
    got = dict(track_masks(flows, {a: masks[a] for a in anchors}, 0, len(frames)))
    seconds = time.perf_counter() - start
    scores = [iou(got[t], masks[t]) for t in range(len(frames)) if t not in anchors]
    return {"mean_iou": round(float(np.mean(scores)), 3), "fps": round(len(frames) / seconds, 1)}


def tracking_only(data: Path) -> dict:
    result = {}
    for name, make, width, height in (
        ("pan", pan_scene, 320, 192),
        ("deforming", deforming_scene, 320, 192),
        ("pan_854", pan_scene, 854, 480),
    ):
        scene = make(24, width, height)
        result[name] = {
            label: tracking_scores(scene.frames, scene.masks, a)
            for label, a in (("anchor_0", [0]), ("anchors_0_23", [0, 23]))
        }
    if (data / "frames").is_dir():
        names = sorted((data / "frames").glob("*.jpg"))
        frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in names]
        masks = [cv2.imread(str(data / "masks" / f"{p.stem}.png"), cv2.IMREAD_GRAYSCALE) for p in names]
        result["bmx_trees"] = {
            f"anchors_every_{step}": tracking_scores(frames, masks, list(range(0, len(frames), step)))
            for step in (10, 20)
        }
    return result


def bmx(tmp: Path, data: Path, out: Path, sheet: Path | None) -> dict:
    names = sorted((data / "frames").glob("*.jpg"))
    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in names]
    masks = [cv2.imread(str(data / "masks" / f"{p.stem}.png"), cv2.IMREAD_GRAYSCALE) for p in names]
    n = len(frames)
    clip = write_clip(tmp / "bmx.mkv", frames, **LOSSLESS)
    render = tmp / "bmx_render"
    cold = delete(clip, data / "masks", render, tmp / "bmx_cache", n)
    flows = ClipFlow(ArrayFrames(frames))
    tracking = {}
    for step in (10, 20):
        anchors = list(range(0, n, step))
        got = dict(track_masks(flows, {a: masks[a] for a in anchors}, 0, n))
        scores = [iou(got[t], masks[t]) for t in range(n) if t not in anchors]
        tracking[f"anchors_every_{step}"] = round(float(np.mean(scores)), 3)
    out.mkdir(parents=True, exist_ok=True)
    picks = [5, 25, 45, 65]
    rows = []
    for t in picks:
        result = cv2.imread(str(render / f"{t:06d}.png"))
        before = cv2.cvtColor(frames[t], cv2.COLOR_RGB2BGR)
        shown = before.copy()
        shown[masks[t] > 0] = (0.5 * shown[masks[t] > 0] + (0, 0, 127)).astype(np.uint8)
        pair = np.hstack([shown, result])
        cv2.imwrite(str(out / f"bmx_{t:02d}.png"), pair)
        rows.append(pair)
    if sheet is not None:
        small = [
            cv2.resize(r, (r.shape[1] // 2, r.shape[0] // 2), interpolation=cv2.INTER_AREA) for r in rows
        ]
        grid = np.vstack([np.hstack(small[:2]), np.hstack(small[2:])])
        sheet.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sheet), grid, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return {
        "frames": n,
        "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
        "delete_cold_fps": round(n / cold, 1),
        "synthetic_hole_on_real_background": [
            synthetic_hole(tmp, frames[:40], masks[:40], v) for v in (3.0, 8.0)
        ],
        "tracking_mean_iou": tracking,
        "looked_at": [str(out / f"bmx_{t:02d}.png") for t in picks],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per speed clip")
    parser.add_argument("--bmx", type=Path, default=ROOT.parent / "shared" / "data" / "bmx-trees")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "flow_bmx")
    parser.add_argument(
        "--no-sheet", action="store_true", help="do not rewrite docs/images/flow_bmx_trees.png"
    )
    parser.add_argument("--tracking-only", action="store_true", help="only the mask-tracking figures")
    args = parser.parse_args()
    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "opencv_threads": cv2.getNumThreads(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
            "opencv": cv2.__version__,
        }
    }
    if args.tracking_only:
        report["tracking"] = tracking_only(args.bmx)
        report["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]  # type: ignore[index]
        print(json.dumps(report, indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp:
        report["speed"] = speed(Path(tmp), args.frames)
        report["quality"] = quality(Path(tmp))
        if (args.bmx / "frames").is_dir():
            sheet = None if args.no_sheet else ROOT / "docs" / "images" / "flow_bmx_trees.png"
            report["bmx_trees"] = bmx(Path(tmp), args.bmx, args.out, sheet)
        else:
            report["bmx_trees"] = f"skipped: {args.bmx} not found"
    report["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
