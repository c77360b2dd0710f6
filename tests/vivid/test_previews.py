"""A vivid propagate through a real runtime subprocess sends per-step latent previews, documented format:
``progress.preview`` is a ``PreviewInfo(format, width, height, buffer)`` and ``buffers[buffer]`` holds the
image (JPEG/PNG bytes, or raw RGB ``height * width * 3``)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.runtime_client import LaunchSpec, Message, RuntimeClient, preview_bytes


def _image(info, data: bytes) -> np.ndarray:
    if info.format == "raw":
        assert len(data) == info.width * info.height * 3
        return np.frombuffer(data, np.uint8).reshape(info.height, info.width, 3)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, f"undecodable {info.format} preview"
    return image[:, :, ::-1]


def test_vivid_propagate_sends_latent_previews_while_denoising(tiny_model, clip, box_mask, tmp_path):
    events: list[Message] = []
    lock = threading.Lock()

    def on_event(msg: Message) -> None:
        with lock:
            events.append(msg)

    plan = RenderPlan(
        source=str(clip),
        start=0,
        stop=9,
        mask=str(box_mask),
        task="modify",
        caption="a green box",
        engine="vivid",
        settings={"model": str(tiny_model), "steps": 3, "window_length": 9},
        output_dir=str(tmp_path / "render"),
    )
    client = RuntimeClient(LaunchSpec(start_timeout=30.0))
    client.start()
    try:
        job = client.submit(plan, on_event)
        end = job.wait(120)
    finally:
        client.shutdown()
    assert end.msg_type == "succeeded", end.content
    types = [e.msg_type for e in events]
    first_frame = types.index("frame_ready")
    steps = [e for e in events[:first_frame] if e.msg_type == "progress" and "step" in e.content.message]
    assert len(steps) >= 1
    with_preview = [e for e in steps if e.content.preview is not None]
    assert with_preview, "no latent preview while the window denoised"
    msg = with_preview[0]
    info, data = preview_bytes(msg)
    assert info.format in ("jpeg", "png", "raw") and 0 <= info.buffer < len(msg.buffers)
    image = _image(info, data)
    assert image.shape == (info.height, info.width, 3) and min(image.shape[:2]) >= 64
    assert image.std() > 0  # a projection of real latents, not a blank placeholder
    assert sorted(e.content.frame for e in events if e.msg_type == "frame_ready") == list(range(9))
