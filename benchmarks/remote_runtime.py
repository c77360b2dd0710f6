"""The remote runtime over TLS on loopback: upload and fetch throughput, and a flow render local vs remote.

Starts ``vivid-runtime serve`` with a certificate made here (the ``cryptography`` package, a dev tool),
uploads a random file (cold, then again: deduplicated), and renders a small clip with the flow engine
locally and through the remote runtime (inputs uploaded, frames fetched). Loopback only: the figures are
the protocol's own cost (TLS, hashing, chunking), not a network's. Prints JSON.

    python benchmarks/remote_runtime.py [--upload-mb 64] [--frames 48]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runtime"))

from remote_server import make_certs, serve, write_token

from vivid_desktop.media.synth import pan_scene, write_clip
from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.runtime_client import LaunchSpec, RuntimeClient, remote_launch_spec
from vivid_desktop.runtime_client.transfer import Transfers


def upload(client: RuntimeClient, path: Path) -> float:
    start = time.perf_counter()
    Transfers(client).upload_inputs({"x": path}, lambda done, total: None)
    return time.perf_counter() - start


def render(client: RuntimeClient, clip: Path, mask: Path, out: Path, frames: int) -> float:
    plan = RenderPlan(
        source=str(clip),
        start=0,
        stop=frames,
        mask=str(mask),
        task="delete",
        engine="flow",
        output_dir=str(out),
    )
    start = time.perf_counter()
    job = client.submit(plan)
    assert job.wait(600).msg_type == "succeeded", job.error
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upload-mb", type=int, default=64)
    parser.add_argument("--frames", type=int, default=48)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vivid-bench-remote-"))
    certs = make_certs(root / "certs")
    server = serve(root / "serve", certs.server, write_token(root / "token"))
    try:
        blob = root / "blob.bin"
        blob.write_bytes(os.urandom(args.upload_mb << 20))
        scene = pan_scene(n_frames=args.frames, width=320, height=180, seed=2)
        write_clip(root / "clip.mp4", scene.frames, rate=24)
        cv2.imwrite(str(root / "mask.png"), cv2.dilate(scene.masks[0], np.ones((15, 15), np.uint8)))
        local = RuntimeClient(LaunchSpec())
        local.start()
        try:
            local_s = render(local, root / "clip.mp4", root / "mask.png", root / "local", args.frames)
        finally:
            local.shutdown()
        remote = RuntimeClient(remote_launch_spec(server.address, server.token_file, certs.ca.cert))
        remote.start()
        try:
            cold = upload(remote, blob)
            warm = upload(remote, blob)
            remote_s = render(remote, root / "clip.mp4", root / "mask.png", root / "remote", args.frames)
            again_s = render(remote, root / "clip.mp4", root / "mask.png", root / "again", args.frames)
        finally:
            remote.shutdown()
        frame_bytes = sum(p.stat().st_size for p in (root / "remote").glob("*.png"))
        print(
            json.dumps(
                {
                    "machine": f"{platform.node()} ({os.cpu_count()} CPUs)",
                    "upload_mb": args.upload_mb,
                    "upload_cold_mb_s": round(args.upload_mb / cold, 1),
                    "upload_again_s": round(warm, 3),
                    "frames": args.frames,
                    "frames_mb": round(frame_bytes / (1 << 20), 2),
                    "flow_local_s": round(local_s, 2),
                    "flow_remote_s": round(remote_s, 2),
                    "flow_remote_again_s": round(again_s, 2),
                },
                indent=2,
            )
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
