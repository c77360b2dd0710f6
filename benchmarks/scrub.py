"""Scrubbing benchmark: how the media layer feels on 1080p long-GOP H.264. Prints JSON on stdout.

Makes a 1080p H.264 clip like camera footage (GOP 250, B-frames, ~10 Mb/s of textured, grainy pan; every
frame carries its number in the top rows, so every read is also checked for exactness), then measures:

* ``random_access_no_proxy_ms``: exact reads at random frames with a cold cache (what scrubbing would feel
  like without a proxy);
* ``scrub_with_proxy_ms``: ``ScrubReader.read_fast`` at random frames (proxy, exact frames not cached);
* ``exact_on_rest_ms``: ``read_exact`` where the playhead comes to rest after a burst of proxy reads;
* ``sequential_decode_fps``: ``FrameReader.iter_frames`` over the clip (decode + RGB conversion);
* ``proxy_build_x_realtime``: clip duration / proxy build time;
* ``export_fps``: source frames decoded and exported to H.264 MP4 (``media.export.export_video``), end to
  end; ``export_encode_only_fps`` the same from frames already in memory.

Goals (issue 3, 2-core machine): scrub p95 ≤ 50 ms, exact p95 ≤ 1 s, proxy ≥ 2× real time, export ≥ 30 fps.

    python benchmarks/scrub.py [--seconds 10] [--reads 40] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vivid_desktop.media import synth
from vivid_desktop.media.proxy import ScrubReader, build_proxy
from vivid_desktop.media.reader import FrameReader

WIDTH, HEIGHT, RATE, GOP, BITRATE = 1920, 1080, 30, 250, 10_000_000


def make_clip(path: Path, frames: int) -> Path:
    """A grainy 1080p pan with the frame number coded into the top rows (synth.numbered_frame)."""
    world = synth.pan_scene(1, WIDTH + 4 * frames, HEIGHT + 64, seed=1).frames[0]
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = BITRATE
        stream.options = {"preset": "veryfast", "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}
        for n in range(frames):
            frame = np.ascontiguousarray(world[32 : 32 + HEIGHT, 4 * n : 4 * n + WIDTH])
            grain = cv2.resize(
                rng.integers(-8, 9, (HEIGHT // 2, WIDTH // 2), dtype=np.int16), (WIDTH, HEIGHT)
            )
            frame = np.clip(frame.astype(np.int16) + grain[:, :, None], 0, 255).astype(np.uint8)
            frame[:8] = synth.numbered_frame(n, WIDTH, 64)[:8]  # the 16-block code, 8 lines high
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


def stats(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 1),
        "p95": round(float(np.percentile(ms, 95)), 1),
        "max": round(float(ms.max()), 1),
        "n": len(ms),
    }


def number_of(frame: np.ndarray) -> int:
    """The frame number coded into the top rows, at full or proxy size."""
    return synth.read_frame_number(frame[: frame.shape[0] * 64 // HEIGHT])


def timed_reads(read, frames: list[int], mismatches: list[int]) -> list[float]:
    out = []
    for n in frames:
        start = time.perf_counter()
        frame = read(n)
        out.append(time.perf_counter() - start)
        if number_of(frame) != n:
            mismatches.append(n)
    return out


def run(folder: Path, seconds: int, reads: int) -> dict:
    total = seconds * RATE
    clip = folder / "scrub_1080p.mp4"
    start = time.perf_counter()
    if not clip.exists():
        make_clip(clip, total)
    result: dict = {"clip_generation_s": round(time.perf_counter() - start, 1)}
    rng = random.Random(42)
    mismatches: list[int] = []

    with FrameReader(clip, cache_bytes=0) as reader:
        facts = reader.info.to_dict()
        result["clip"] = {k: facts[k] for k in ("width", "height", "rate", "frame_count", "video_codec")}
        result["clip"].update(mbit_s=round(clip.stat().st_size * 8 / seconds / 1e6, 1), gop=GOP)
        lat = timed_reads(reader.read, rng.sample(range(total), reads), mismatches)
        result["random_access_no_proxy_ms"] = stats(lat)
        start = time.perf_counter()
        count = sum(1 for _ in reader.iter_frames())
        result["sequential_decode_fps"] = round(count / (time.perf_counter() - start), 1)

    start = time.perf_counter()
    proxy = build_proxy(clip, folder / "scrub_1080p.proxy.mp4")
    build_s = time.perf_counter() - start
    result["proxy_build_s"] = round(build_s, 2)
    result["proxy_build_x_realtime"] = round(seconds / build_s, 2)

    with ScrubReader(clip, proxy, cache_bytes=0) as scrub:
        lat = timed_reads(scrub.read_fast, rng.sample(range(total), 5 * reads), mismatches)
        result["scrub_with_proxy_ms"] = stats(lat)
        rest = []
        for _ in range(reads):  # a burst of scrubbing, then the playhead rests
            for n in rng.sample(range(total), 5):
                scrub.read_fast(n)
            rest += timed_reads(scrub.read_exact, [rng.randrange(total)], mismatches)
        result["exact_on_rest_ms"] = stats(rest)
    result["mismatched_frames"] = mismatches
    result.update(export_figures(clip, folder, min(total, 150)))
    return result


def export_figures(clip: Path, folder: Path, frames: int) -> dict:
    from vivid_desktop.media.export import export_video

    with FrameReader(clip, cache_bytes=0) as reader:
        start = time.perf_counter()
        export_video(reader.iter_frames(0, frames), folder / "export.mp4", rate=Fraction(RATE), total=frames)
        end_to_end = frames / (time.perf_counter() - start)
        memory = [f for _, f in zip(range(8), reader.iter_frames(0, 8), strict=False)]
    start = time.perf_counter()
    export_video((memory[i % 8] for i in range(frames)), folder / "export2.mp4", rate=Fraction(RATE))
    encode_only = frames / (time.perf_counter() - start)
    return {"export_fps": round(end_to_end, 1), "export_encode_only_fps": round(encode_only, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="clip length (default 10 s at 30 fps)")
    parser.add_argument("--reads", type=int, default=40, help="random exact reads per measurement")
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the clip and proxy in")
    args = parser.parse_args()
    machine = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "pyav": av.__version__,
    }
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(args.keep, args.seconds, args.reads)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(Path(tmp), args.seconds, args.reads)
    result["environment"] = {**machine, "load_avg_1m_at_end": round(os.getloadavg()[0], 2)}
    result["goals"] = {
        "scrub_p95_ms<=50": result["scrub_with_proxy_ms"]["p95"] <= 50,
        "exact_p95_ms<=1000": result["exact_on_rest_ms"]["p95"] <= 1000,
        "proxy_x_realtime>=2": result["proxy_build_x_realtime"] >= 2,
        "export_fps>=30": result["export_fps"] is not None and result["export_fps"] >= 30,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
