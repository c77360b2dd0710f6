"""Export speed: 1080p frames → H.264 MP4 (every quality preset) and ProRes, frames per second. Prints JSON.

Frames come from memory (a few synthetic 1080p pictures, cycled), so the figure is the export's own cost:
RGB → Y'CbCr conversion, encoding and muxing. ``grain`` adds film-grain-like noise, the hard case for an
encoder; the clean pan is the easy one. Goal: ``standard`` H.264 1080p ≥ 30 fps on a 2-core machine.

    python benchmarks/export_fps.py [--frames 90] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from vivid_desktop.media import synth
from vivid_desktop.media.export import export_video


def sample_frames(grain: bool, width: int = 1920, height: int = 1080, count: int = 8) -> list[np.ndarray]:
    frames = synth.pan_scene(count, width, height, velocity=(3.0, 1.0), seed=7).frames
    if grain:
        rng = np.random.default_rng(0)
        frames = [np.clip(f + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8) for f in frames]
    return frames


def export_fps(frames: list[np.ndarray], n: int, out: Path, **kwargs) -> dict:
    """Export ``n`` frames (cycling ``frames``) and return fps and file size."""
    start = time.perf_counter()
    export_video((frames[i % len(frames)] for i in range(n)), out, rate=Fraction(30000, 1001), **kwargs)
    seconds = time.perf_counter() - start
    return {"fps": round(n / seconds, 1), "mbit_s": round(out.stat().st_size * 8 / (n / 29.97) / 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--quick", action="store_true", help="only standard H.264 on both contents")
    args = parser.parse_args()
    runs = [("h264", "standard")] if args.quick else [
        ("h264", "draft"), ("h264", "standard"), ("h264", "high"), ("prores", "standard")
    ]  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for content in ("clean", "grain"):
            frames = sample_frames(grain=content == "grain")
            for fmt, quality in runs:
                out = Path(tmp) / f"out.{'mov' if fmt == 'prores' else 'mp4'}"
                results[f"{fmt}_{quality}_{content}"] = export_fps(
                    frames, args.frames, out, format=fmt, quality=quality
                )
    print(json.dumps({
        "benchmark": "export_fps", "size": "1920x1080", "frames": args.frames, "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(), "results": results,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
