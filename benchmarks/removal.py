"""Object removal on real footage, measured like video completion papers. Prints JSON.

Real clips are the *ground truth*: bmx-trees and schoolgirls (``../shared/data``, research-only
licences, never copied into the project). Holes are pasted over them and filled, then compared with the
clip (ProPainter / E2FGVI protocol):

- ``object``: the *other* clip's object silhouettes (its own mask files, frame by frame) moved along a
  path across the picture; ``grid``: a static grid of squares over the hand-held clip.
- Methods: per-frame OpenCV Telea on the same grown mask, the flow engine of this tree, and with
  ``--previous DIR`` the engine of another tree (e.g. an export of an older commit) side by side.
- Figures in the hole (the pasted mask, pooled over all frames): PSNR, SSIM (Gaussian window σ 1.5,
  map averaged over hole pixels), and the warping error: the mean squared difference (×10³, RGB in
  [0, 1]) between a frame and its successor warped back by the *ground truth's* flow, on hole pixels
  that the flow's forward-backward check finds visible in both; the ground truth's own value is the
  floor (compression, lighting and flow error). Also over the hole's background part only
  (``warp_error_bg_e3``): where the hole covers the clip's own moving object, the truth's flow is that
  object's motion, which a fill that removes it cannot follow.
- Speed: every engine run is a child process (``python -c``) with an empty flow cache; ``e2e_fps`` is
  frames / (process start → last PNG written), ``engine_fps`` the engine's own time, ``cpu_ms_per_frame``
  the child's CPU time (all its threads) per frame, with the load average when it started: on a shared
  machine the wall-clock figures say more about the neighbours than about the engine.
- ``--speed``: only the speed, over frame size (432×240 → 1296×720) × masked area (small silhouette,
  silhouette, grid), for a lossless clip (as the quality runs) and for ordinary H.264 (yuv420p, crf 18:
  what a camera or an editor writes, much cheaper to decode).

    python benchmarks/removal.py [--frames 80] [--previous DIR] [--pictures] [--only CASE ...] [--speed]
        [--sizes 972x540 ...] [--encodings h264]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from vivid_desktop.media.synth import write_clip

ROOT = Path(__file__).resolve().parents[1]
#: The shared footage folder: beside the tree (``main``) or beside its parent (a helper's worktree).
DATA = next((d / "shared" / "data" for d in ROOT.parents if (d / "shared" / "data").is_dir()), Path("data"))
#: H.264 in RGB at qp 0: decoded frames equal the written ones, so the figures measure the fill alone.
LOSSLESS = {"codec": "libx264rgb", "pix_fmt": "rgb24", "options": {"qp": "0"}}
#: The child process: runs one deletion with the engine of the tree on its PYTHONPATH.
CHILD = """
import json, sys, time
from model_runtime.engines.flow import FlowEngine
from vivid_desktop.protocol.jobs import RenderPlan
class Ctx:
    def progress(self, *a, **k): pass
    def frame_ready(self, *a, **k): pass
    def check_cancelled(self): pass
    def log(self, m): pass
clip, masks, out, cache, n = sys.argv[1:6]
plan = RenderPlan(source=clip, start=0, stop=int(n), mask_dir=masks, task="delete", output_dir=out,
                  settings={"cache_dir": cache})
t = time.perf_counter()
FlowEngine().propagate(plan, Ctx())
print(json.dumps({"engine_s": time.perf_counter() - t}))
"""
DILATE = 3  # the engine's default growth of a deletion mask; Telea gets the same hole


def load_backgrounds(count: int) -> dict[str, list[np.ndarray]]:
    names = sorted((DATA / "bmx-trees" / "frames").glob("*.jpg"))[:count]
    bmx = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in names]
    with av.open(str(DATA / "schoolgirls" / "schoolgirls.mp4")) as container:
        girls = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][:count]
    return {"bmx": bmx, "schoolgirls": girls}


def silhouettes(name: str, count: int) -> list[np.ndarray]:
    """The dataset's own object masks, cropped to each one's box."""
    folder = DATA / ("bmx-trees" if name == "bmx" else "schoolgirls") / "masks"
    out = []
    for p in sorted(folder.glob("*.png"))[:count]:
        m = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 127
        ys, xs = np.nonzero(m)
        out.append(m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    return out


def object_masks(shapes: list[np.ndarray], size: tuple[int, int], height: float) -> list[np.ndarray]:
    """Silhouettes scaled to ``height`` × the frame height, moving left to right on a wavy path."""
    w, h = size
    n = len(shapes)
    out = []
    for t, s in enumerate(shapes):
        sh = max(8, round(h * height))
        sw = max(4, round(s.shape[1] * sh / s.shape[0]))
        shape = cv2.resize(s.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
        cx = 0.2 * w + 0.6 * w * t / max(1, n - 1)
        cy = 0.55 * h + 0.1 * h * np.sin(t / 7)
        x0, y0 = round(cx - sw / 2), round(cy - sh / 2)
        mask = np.zeros((h, w), np.uint8)
        xs, ys = slice(max(0, x0), min(w, x0 + sw)), slice(max(0, y0), min(h, y0 + sh))
        mask[ys, xs] = shape[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] * 255
        out.append(mask)
    return out


def grid_masks(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """A static 5 × 3 grid of squares, each 8 % of the frame width."""
    w, h = size
    side = round(0.08 * w)
    mask = np.zeros((h, w), np.uint8)
    for gx in range(5):
        for gy in range(3):
            x, y = round((gx + 0.5) * w / 5 - side / 2), round((gy + 0.5) * h / 3 - side / 2)
            mask[y : y + side, x : x + side] = 255
    return [mask] * count


def grown(mask: np.ndarray, pixels: int = DILATE) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1,) * 2)
    return cv2.dilate(mask, kernel)


def run_engine(tree: Path, folder: Path, clip: Path, masks: Path, n: int) -> dict:
    out = folder / "out"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = [sys.executable, "-c", CHILD, str(clip), str(masks), str(out), str(folder / "cache"), str(n)]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # From the run's folder: with ``-c`` the current folder comes first on sys.path, before PYTHONPATH.
    done = subprocess.run(args, env=env, cwd=folder, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    inner = json.loads(done.stdout.strip().splitlines()[-1])["engine_s"]
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    frames = [cv2.cvtColor(cv2.imread(str(out / f"{t:06d}.png")), cv2.COLOR_BGR2RGB) for t in range(n)]
    return {
        "frames": frames,
        "e2e_fps": round(n / seconds, 1),
        "engine_fps": round(n / inner, 1),
        "cpu_ms_per_frame": round(1000 * cpu / n),
        "load_at_start": round(load, 1),
    }


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004, Gaussian σ 1.5), averaged over the colour channels."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return s.mean(axis=2)


class Truth:
    """The ground truth's flows (DIS medium, full size) and visibility, for the warping error."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
        h, w = gray[0].shape
        grid = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        self.maps, self.visible = [], []
        for a, b in itertools.pairwise(gray):
            fwd, bwd = dis.calc(a, b, None), dis.calc(b, a, None)
            to = grid + fwd
            back = cv2.remap(bwd, to, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            err = np.sum((fwd + back) ** 2, axis=2)
            ok = err < 0.01 * (np.sum(fwd**2, axis=2) + np.sum(back**2, axis=2)) + 0.5
            inside = (to[..., 0] >= 0) & (to[..., 0] <= w - 1) & (to[..., 1] >= 0) & (to[..., 1] <= h - 1)
            self.maps.append(to)
            self.visible.append(ok & inside)

    def warp_error(self, frames: list[np.ndarray], holes: list[np.ndarray]) -> float:
        total, count = 0.0, 0
        for t, to in enumerate(self.maps):
            nxt = cv2.remap(frames[t + 1], to, None, cv2.INTER_LINEAR).astype(np.float64)
            where = (holes[t] > 0) & self.visible[t]
            diff = (frames[t].astype(np.float64) - nxt)[where] / 255.0
            total += float(np.sum(diff**2) / 3)
            count += int(where.sum())
        return round(1000 * total / max(1, count), 3)


def background(holes: list, own: list) -> list[np.ndarray]:
    """The holes' background part: away from the clip's own moving object (which the truth shows)."""
    return [((m > 0) & (o == 0)).astype(np.uint8) for m, o in zip(holes, own, strict=True)]


def _psnr(sse: float, n: int) -> float:
    return round(float(10 * np.log10(255.0**2 / max(sse / max(n, 1), 1e-9))), 2)


def scores(got: list, truth: list, holes: list, own: list, flows: Truth) -> dict:
    """PSNR and SSIM in the holes, all of them and their background part (away from the clip's own
    moving object, which no method can know), and the warping error in the holes."""
    sse, n, sse_bg, n_bg, ssim, ssim_bg = 0.0, 0, 0.0, 0, [], []
    for g, t, m, o in zip(got, truth, holes, own, strict=True):
        where = m > 0
        bg = where & (o == 0)
        sq = np.sum((g.astype(np.float64) - t) ** 2, axis=2)
        sse, n = sse + float(sq[where].sum()), n + 3 * int(where.sum())
        sse_bg, n_bg = sse_bg + float(sq[bg].sum()), n_bg + 3 * int(bg.sum())
        smap = ssim_map(g, t)
        ssim.append(smap[where])
        ssim_bg.append(smap[bg])
    return {
        "psnr_db": _psnr(sse, n),
        "psnr_bg_db": _psnr(sse_bg, n_bg),
        "ssim": round(float(np.mean(np.concatenate(ssim))), 4),
        "ssim_bg": round(float(np.mean(np.concatenate(ssim_bg))), 4),
        "warp_error_e3": flows.warp_error(got, holes),
        "warp_error_bg_e3": flows.warp_error(got, background(holes, own)),
    }


def crop_picture(case: str, results: dict, truth: list, holes: list, pictures: Path) -> str:
    """Crops of the hole's box on the frame where the hole is largest: truth, then each method."""
    t = max(range(len(holes)), key=lambda k: holes[k].sum() * (k > 4) * (k < len(holes) - 4))
    # The largest part of the hole, with room around it (a grid shows one square, not the frame).
    _, labels, stats, _ = cv2.connectedComponentsWithStats(holes[t])
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    ys, xs = np.nonzero(labels == k)
    h, w = holes[t].shape
    pad = max(8, (ys.max() - ys.min()) // 3)
    box = (
        slice(max(0, ys.min() - pad), min(h, ys.max() + pad)),
        slice(max(0, xs.min() - pad), min(w, xs.max() + pad)),
    )
    shown = truth[t].copy()
    edge = cv2.morphologyEx(holes[t], cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    shown[edge] = (255, 0, 0)
    tiles = [shown[box]] + [r["frames"][t][box] for r in results.values()]
    scale = max(1, round(360 / tiles[0].shape[0]))
    tiles = [cv2.resize(c, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) for c in tiles]
    path = pictures / f"removal_{case}.png"
    sheet = np.hstack([np.pad(c, ((0, 0), (0, 4), (0, 0)), constant_values=255) for c in tiles])
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return (
        f"{path.relative_to(ROOT)} (frame {t}; truth with the hole's edge in red, then {', '.join(results)})"
    )


def run_case(
    name: str, truth: list, masks: list, own: list, trees: dict[str, Path], tmp: Path, pictures: Path | None
):
    n = len(truth)
    folder = tmp / name
    folder.mkdir()
    source = []
    for frame, mask in zip(truth, masks, strict=True):
        pasted = frame.copy()
        pasted[mask > 0] = (40, 200, 60)  # a flat green object: any leak of it shows
        source.append(pasted)
    clip = write_clip(folder / "clip.mkv", source, **LOSSLESS)
    mask_dir = folder / "masks"
    mask_dir.mkdir()
    for t, m in enumerate(masks):
        cv2.imwrite(str(mask_dir / f"{t:06d}.png"), m)
    start = time.perf_counter()
    telea = [cv2.inpaint(s, grown(m), 5, cv2.INPAINT_TELEA) for s, m in zip(source, masks, strict=True)]
    results = {
        "telea": {"frames": telea, "e2e_fps": None, "engine_fps": round(n / (time.perf_counter() - start), 1)}
    }
    for label, tree in trees.items():
        results[label] = run_engine(tree, folder / label, clip, mask_dir, n)
    flows = Truth(truth)
    h, w = truth[0].shape[:2]
    report = {
        "size": f"{w}x{h}",
        "frames": n,
        "masked_fraction": round(float(np.mean([m.mean() / 255 for m in masks])), 3),
        "background_fraction_of_hole": round(
            float(sum(((m > 0) & (o == 0)).sum() for m, o in zip(masks, own, strict=True)))
            / max(1, sum(int((m > 0).sum()) for m in masks)),
            3,
        ),
        "truth_warp_error_e3": flows.warp_error(truth, masks),
        "truth_warp_error_bg_e3": flows.warp_error(truth, background(masks, own)),
    }
    for label, r in results.items():
        report[label] = {
            **scores(r["frames"], truth, masks, own, flows),
            **{k: v for k, v in r.items() if k != "frames"},
        }
    if pictures is not None:
        report["picture"] = crop_picture(name, results, truth, masks, pictures)
    return report


def upscale(frames: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    return [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in frames]


def own_objects(name: str, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """The clip's own moving object (its mask files), scaled to ``size`` and grown by 2 % of the width."""
    folder = DATA / ("bmx-trees" if name == "bmx" else "schoolgirls") / "masks"
    r = max(2, round(0.02 * size[0]))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)
    out = []
    for p in sorted(folder.glob("*.png"))[:count]:
        m = cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), size, interpolation=cv2.INTER_NEAREST)
        out.append(cv2.dilate(m, kernel))
    return out


def cases(count: int) -> dict:
    """name → (truth frames, masks, the clip's own object): both clips at their size, bmx-trees upscaled."""
    bg = load_backgrounds(count)
    shapes = {"bmx": silhouettes("bmx", count), "schoolgirls": silhouettes("schoolgirls", count)}
    out = {}
    for name, frames in bg.items():
        other = shapes["schoolgirls" if name == "bmx" else "bmx"]
        size = (frames[0].shape[1], frames[0].shape[0])
        own = own_objects(name, count, size)
        out[f"{name}_object"] = (frames, object_masks(other, size, 0.6), own)
        out[f"{name}_grid"] = (frames, grid_masks(size, len(frames)), own)
    for size, kinds in (((972, 540), ("grid", "object", "small_object")), ((1296, 720), ("object",))):
        big, own = upscale(bg["bmx"], size), own_objects("bmx", count, size)
        masks = {
            "grid": lambda s=size: grid_masks(s, len(bg["bmx"])),
            "object": lambda s=size: object_masks(shapes["schoolgirls"], s, 0.6),
            "small_object": lambda s=size: object_masks(shapes["schoolgirls"], s, 0.25),
        }
        for kind in kinds:
            out[f"bmx_{kind}_{size[0]}"] = (big, masks[kind](), own)
    return out


#: Ordinary camera / editor H.264, for the speed table (decoding costs far less than lossless RGB).
H264 = {"codec": "libx264", "pix_fmt": "yuv420p", "options": {"crf": "18"}}
SPEED_SIZES = ((432, 240), (972, 540), (1296, 720))


def speed_table(
    count: int,
    trees: dict[str, Path],
    tmp: Path,
    sizes: Sequence[tuple[int, int]] = SPEED_SIZES,
    encodings: Sequence[str] = ("lossless", "h264"),
) -> dict:
    """Speed only: frame size × masked area × encoding, every tree's engine on the same clips."""
    bmx = load_backgrounds(count)["bmx"]
    shapes = silhouettes("schoolgirls", count)
    table = {}
    for size in sizes:
        frames = bmx if size == (bmx[0].shape[1], bmx[0].shape[0]) else upscale(bmx, size)
        kinds = {
            "small": object_masks(shapes, size, 0.25),
            "silhouette": object_masks(shapes, size, 0.6),
            "grid": grid_masks(size, len(frames)),
        }
        for kind, masks in kinds.items():
            name = f"{size[0]}x{size[1]}_{kind}"
            folder = tmp / name
            mask_dir = folder / "masks"
            mask_dir.mkdir(parents=True)
            for t, m in enumerate(masks):
                cv2.imwrite(str(mask_dir / f"{t:06d}.png"), m)
            pasted = [f.copy() for f in frames]
            for f, m in zip(pasted, masks, strict=True):
                f[m > 0] = (40, 200, 60)
            row: dict[str, object] = {"masked": round(float(np.mean([m.mean() / 255 for m in masks])), 3)}
            for encoding in encodings:
                options = {"lossless": LOSSLESS, "h264": H264}[encoding]
                clip = write_clip(folder / f"{encoding}.mkv", pasted, **options)
                for label, tree in trees.items():
                    r = run_engine(tree, folder / f"{encoding}-{label}", clip, mask_dir, len(frames))
                    row[f"{encoding} {label}"] = {k: v for k, v in r.items() if k != "frames"}
            table[name] = row
            print(name, json.dumps(row), file=sys.stderr, flush=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--previous", type=Path, help="another tree whose engine runs side by side")
    parser.add_argument("--pictures", action="store_true", help="write hole crops into docs/images/")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--speed", action="store_true", help="only the speed table (size × area × encoding)")
    parser.add_argument("--sizes", nargs="*", help="speed table frame sizes, e.g. 972x540 (default: all)")
    parser.add_argument("--encodings", nargs="*", choices=("lossless", "h264"), default=("lossless", "h264"))
    args = parser.parse_args()
    if not (DATA / "bmx-trees").is_dir():
        print(json.dumps({"skipped": f"{DATA} not found"}))
        return
    trees = {"previous": args.previous.resolve()} if args.previous else {}
    trees["engine"] = ROOT
    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "opencv_threads": cv2.getNumThreads(),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
            "opencv": cv2.__version__,
        }
    }
    pictures = ROOT / "docs" / "images" if args.pictures else None
    with tempfile.TemporaryDirectory() as tmp:
        if args.speed:
            sizes = [tuple(map(int, v.split("x"))) for v in args.sizes] if args.sizes else SPEED_SIZES
            report["speed"] = speed_table(args.frames, trees, Path(tmp), sizes, args.encodings)
        for name, (truth, masks, own) in ({} if args.speed else cases(args.frames)).items():
            if args.only and name not in args.only:
                continue
            report[name] = run_case(name, truth, masks, own, trees, Path(tmp), pictures)
            print(name, json.dumps(report[name]), file=sys.stderr, flush=True)
    report["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
