"""Mask tracking on real clips with per-frame ground truth. Prints JSON.

For each clip (``bmx-trees``: 80 JPEG frames; ``schoolgirls``: an 80-frame MPEG-4 clip; both 432×240 with a
mask per frame, research-only licences, never copied into the project) the tracker runs from the
ground-truth masks of a set of anchor frames — frame 0 only, every 10 frames, every 20 frames — and is
scored on the frames that are *not* anchors:

- ``J``: mean IoU against the clip's masks (and its minimum),
- ``F``: mean boundary F-measure (DAVIS: boundary pixels matched within 0.8 % of the image diagonal),
- ``JF``: their mean.

Speed: tracking frames per second with the flows computed beforehand (not counted), at the clip's size
and with the clip scaled to 854×480; the flows' own CPU time per frame pair beside it. Flows use the
preset of tracking jobs (``fine``) unless ``--flow-preset`` says otherwise. ``--pictures DIR`` writes
overlays (truth in green, tracked mask in magenta, both in white) of a few frames; ``--sheet`` also
writes ``docs/images/tracking_<clip>.png``.

    python benchmarks/tracking.py [--data DIR] [--clips bmx-trees schoolgirls] [--pictures /tmp/track]
                                  [--sheet] [--no-speed] [--flow-preset fine]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from model_runtime.engines.flow.flow import ClipFlow, FlowSettings
from model_runtime.engines.flow.track import TRACK_FLOW_PRESET, track_masks
from vivid_desktop.media.clip_frames import ArrayFrames

ROOT = Path(__file__).resolve().parents[1]
SETUPS = {"one_anchor": None, "anchors_every_10": 10, "anchors_every_20": 20}


def load_clip(folder: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """RGB frames and uint8 masks of a clip folder: ``frames/*.jpg`` or one ``*.mp4``, plus ``masks/``."""
    if (folder / "frames").is_dir():
        names = sorted((folder / "frames").glob("*.jpg"))
        frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in names]
    else:
        from vivid_desktop.media.reader import FrameReader

        (video,) = sorted(folder.glob("*.mp4"))
        with FrameReader(video) as reader:
            frames = list(reader.iter_frames(0, reader.frame_count))
    masks = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted((folder / "masks").glob("*.png"))]
    n = min(len(frames), len(masks))
    return frames[:n], [np.where(m >= 128, 255, 0).astype(np.uint8) for m in masks[:n]]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = ((a > 0) | (b > 0)).sum()
    return float(((a > 0) & (b > 0)).sum() / union) if union else 1.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = (mask > 0).astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)) > 0


def boundary_f(got: np.ndarray, truth: np.ndarray) -> float:
    """DAVIS's F: precision/recall of boundary pixels matched within 0.8 % of the diagonal."""
    tol = max(1, int(np.ceil(0.008 * np.hypot(*truth.shape))))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tol + 1, 2 * tol + 1))
    bg, bt = _boundary(got), _boundary(truth)
    if not bg.any() and not bt.any():
        return 1.0
    if not bg.any() or not bt.any():
        return 0.0
    precision = (bg & (cv2.dilate(bt.astype(np.uint8), disc) > 0)).sum() / bg.sum()
    recall = (bt & (cv2.dilate(bg.astype(np.uint8), disc) > 0)).sum() / bt.sum()
    return float(2 * precision * recall / max(precision + recall, 1e-9))


def anchors_for(n: int, step: int | None) -> list[int]:
    return [0] if step is None else list(range(0, n, step))


def run_tracker(frames, masks, anchors, flows=None, cpu: list | None = None) -> tuple[dict, float]:
    """Tracked masks of every frame and tracking seconds (flows computed beforehand). ``cpu`` receives
    the process's CPU seconds too: on a shared machine wall time says more about the load than the code."""
    flows = flows or ClipFlow(ArrayFrames(frames))
    flows.ensure(0, len(frames), frames=frames)
    start, cpu_start = time.perf_counter(), time.process_time()
    got = dict(track_masks(flows, {a: masks[a] for a in anchors}, 0, len(frames)))
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    return got, time.perf_counter() - start


def score(got: dict[int, np.ndarray], masks: list[np.ndarray], anchors: list[int]) -> dict:
    frames = [t for t in range(len(masks)) if t not in anchors]
    j = [iou(got[t], masks[t]) for t in frames]
    f = [boundary_f(got[t], masks[t]) for t in frames]
    return {
        "J": round(float(np.mean(j)), 3),
        "J_min": round(float(np.min(j)), 3),
        "F": round(float(np.mean(f)), 3),
        "JF": round(float((np.mean(j) + np.mean(f)) / 2), 3),
    }


def overlay(frame: np.ndarray, got: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """BGR picture: truth only green, tracked only magenta, both white-tinted."""
    out = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR).astype(np.float32)
    g, t = got > 0, truth > 0
    for sel, colour in ((t & ~g, (0, 255, 0)), (g & ~t, (255, 0, 255)), (g & t, (255, 255, 255))):
        out[sel] = 0.45 * out[sel] + 0.55 * np.array(colour, np.float32)
    for region, colour in ((truth, (0, 160, 0)), (got, (200, 0, 200))):
        binary = (region > 0).astype(np.uint8)
        contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, colour, 1)
    return out.astype(np.uint8)


def zoomed(tile: np.ndarray, got: np.ndarray, truth: np.ndarray, height: int = 240) -> np.ndarray:
    """The part of ``tile`` around the object (truth and tracked), scaled to ``height`` rows."""
    ys, xs = np.nonzero((got > 0) | (truth > 0))
    if not len(ys):
        return cv2.resize(tile, (height * tile.shape[1] // tile.shape[0], height))
    pad = 12
    y0, y1 = max(0, ys.min() - pad), min(tile.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(tile.shape[1], xs.max() + pad + 1)
    crop = tile[y0:y1, x0:x1]
    width = max(60, round(crop.shape[1] * height / crop.shape[0]))
    return cv2.resize(crop, (min(width, 2 * height), height), interpolation=cv2.INTER_NEAREST)


def pictures(name, frames, masks, got, anchors, folder: Path, picks) -> list[np.ndarray]:
    """Writes full-frame overlays; returns zoomed, labelled tiles for the sheet."""
    folder.mkdir(parents=True, exist_ok=True)
    tiles = []
    for t in picks:
        tile = overlay(frames[t], got[t], masks[t])
        cv2.imwrite(str(folder / f"{name}_{len(anchors)}anchors_{t:02d}.png"), tile)
        small = zoomed(tile, got[t], masks[t])
        label = f"{t}: J {iou(got[t], masks[t]):.2f}"
        cv2.putText(small, label, (4, 16), 0, 0.5, (0, 0, 0), 3)
        cv2.putText(small, label, (4, 16), 0, 0.5, (255, 255, 255), 1)
        tiles.append(cv2.copyMakeBorder(small, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(40, 40, 40)))
    return tiles


def speed(frames, masks, settings: FlowSettings) -> dict:
    """Tracking fps with flows ready, at the clip's size and scaled to 854×480 (one anchor / every 20),
    and the CPU milliseconds per frame pair of the flows themselves."""
    result: dict[str, float] = {}
    for label, size in (("clip_size", None), ("854x480", (854, 480))):
        fr = frames if size is None else [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in frames]
        ms = masks if size is None else [cv2.resize(m, size, interpolation=cv2.INTER_NEAREST) for m in masks]
        flows = ClipFlow(ArrayFrames(fr), settings)
        cpu_start = time.process_time()
        flows.ensure(0, len(fr), frames=fr)
        flow_cpu = time.process_time() - cpu_start
        result[f"{label}_flow_cpu_ms_per_pair"] = round(1000 * flow_cpu / (len(fr) - 1))
        for setup in ("one_anchor", "anchors_every_20"):
            anchors = anchors_for(len(fr), SETUPS[setup])
            cpu: list[float] = []
            got, seconds = run_tracker(fr, ms, anchors, flows, cpu)
            result[f"{label}_{setup}_fps"] = round(len(fr) / seconds, 1)
            result[f"{label}_{setup}_fps_by_cpu_time"] = round(len(fr) / cpu[0], 1)
            if size is not None:
                result[f"{label}_{setup}_J"] = score(got, ms, anchors)["J"]
    return result


def clip_report(name: str, folder: Path, args) -> dict:
    frames, masks = load_clip(folder)
    report: dict[str, object] = {"frames": len(frames), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}"}
    flows = ClipFlow(ArrayFrames(frames), FlowSettings(preset=args.flow_preset))
    sheet_rows = []
    for setup, step in SETUPS.items():
        anchors = anchors_for(len(frames), step)
        got, seconds = run_tracker(frames, masks, anchors, flows)
        report[setup] = {**score(got, masks, anchors), "fps": round(len(frames) / seconds, 1)}
        if args.pictures and setup != "anchors_every_10":
            picks = [15, 35, 55, 75] if step is None else [10, 30, 50, 70]
            sheet_rows.append(pictures(name, frames, masks, got, anchors, args.pictures, picks))
    if args.sheet and sheet_rows:
        rows = [np.hstack(tiles) for tiles in sheet_rows]
        width = max(r.shape[1] for r in rows)
        sheet = np.vstack(
            [cv2.copyMakeBorder(r, 0, 0, 0, width - r.shape[1], cv2.BORDER_CONSTANT) for r in rows]
        )
        if sheet.shape[1] > 1000:  # keep the docs' pictures small
            size = (1000, round(sheet.shape[0] * 1000 / sheet.shape[1]))
            sheet = cv2.resize(sheet, size, interpolation=cv2.INTER_AREA)
        path = ROOT / "docs" / "images" / f"tracking_{name}.png"
        cv2.imwrite(str(path), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        report["sheet"] = str(path.relative_to(ROOT))
    if not args.no_speed:
        report["speed"] = speed(frames, masks, FlowSettings(preset=args.flow_preset))
    return report


def _default_data() -> Path:
    """``shared/data`` beside the checkout (or beside the folder holding it, for work trees)."""
    for up in ROOT.parents[:2]:
        if (up / "shared" / "data").is_dir():
            return up / "shared" / "data"
    return ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--clips", nargs="+", default=["bmx-trees", "schoolgirls"])
    parser.add_argument("--pictures", type=Path, help="write overlay PNGs here")
    parser.add_argument("--sheet", action="store_true", help="write docs/images/tracking_<clip>.png")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed runs")
    parser.add_argument("--flow-preset", default=TRACK_FLOW_PRESET, help="DIS preset (default: tracking's)")
    args = parser.parse_args()
    if args.sheet and not args.pictures:
        args.pictures = Path("/tmp/vivid_tracking")
    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "opencv_threads": cv2.getNumThreads(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
            "opencv": cv2.__version__,
        },
        "flow_preset": args.flow_preset,
    }
    for name in args.clips:
        folder = args.data / name
        report[name] = clip_report(name, folder, args) if folder.is_dir() else f"skipped: {folder} not found"
    report["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
