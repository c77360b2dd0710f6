"""Synthetic clips with known ground truth: for tests, benchmarks and the built-in demo.

Everything here is numpy + OpenCV to make pixels and PyAV to write files, so tests never depend on
footage that a fresh clone lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


def numbered_frame(n: int, width: int, height: int) -> np.ndarray:
    """An RGB frame whose number can be read back: big digits plus a binary code in the top row.

    The code is 16 blocks, black or white, each ``width // 16`` wide and 8 lines high: robust to lossy
    compression, so ``read_frame_number`` recovers ``n`` from a decoded frame exactly.
    """
    rng = np.random.default_rng(n)
    base = np.full((height, width, 3), 64, np.uint8)
    base[:] = rng.integers(40, 90, 3, dtype=np.uint8)
    bw = max(1, width // 16)
    bh = max(4, min(8, height // 8))
    for bit in range(16):
        on = (n >> bit) & 1
        base[:bh, bit * bw : (bit + 1) * bw] = 255 if on else 0
    scale = max(0.4, height / 200)
    cv2.putText(
        base, str(n), (width // 8, height * 2 // 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2
    )
    return base


def read_frame_number(frame: np.ndarray) -> int:
    """Decode the number that :func:`numbered_frame` wrote into the top row."""
    height, width = frame.shape[:2]
    bw = max(1, width // 16)
    bh = max(4, min(8, height // 8))
    n = 0
    for bit in range(16):
        block = frame[1 : bh - 1, bit * bw + 1 : (bit + 1) * bw - 1]
        if block.mean() > 127:
            n |= 1 << bit
    return n


@dataclass
class PanScene:
    """A textured background moving under a camera pan with a foreground object in front.

    ``frames[i]`` is what the camera sees, ``background[i]`` the same view without the object (the
    ground truth for deletion), ``masks[i]`` the object's silhouette (255 = object).
    """

    frames: list[np.ndarray]
    background: list[np.ndarray]
    masks: list[np.ndarray]
    #: the background's horizontal/vertical shift per frame, in pixels
    velocity: tuple[float, float]


def _texture(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, (height // 4 + 1, width // 4 + 1, 3), dtype=np.uint8)
    tex = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    tex = cv2.GaussianBlur(tex, (0, 0), 1.2)
    # A few strong shapes so optical flow has structure at every scale.
    for _ in range(width * height // 4000 + 4):
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        cv2.circle(tex, (x, y), int(rng.integers(3, max(4, width // 20))), c, -1)
    return tex


def pan_scene(
    n_frames: int = 24,
    width: int = 160,
    height: int = 96,
    velocity: tuple[float, float] = (2.0, 0.5),
    object_size: float = 0.25,
    seed: int = 0,
) -> PanScene:
    """Render a :class:`PanScene` (integer-pixel pans keep the ground truth exact)."""
    vx, vy = velocity
    margin_x = int(abs(vx) * n_frames) + 8
    margin_y = int(abs(vy) * n_frames) + 8
    world = _texture(width + 2 * margin_x, height + 2 * margin_y, seed)
    ow, oh = max(6, int(width * object_size)), max(6, int(height * object_size))
    frames, background, masks = [], [], []
    for i in range(n_frames):
        m = np.float32([[1, 0, -(margin_x + vx * i)], [0, 1, -(margin_y + vy * i)]])
        view = cv2.warpAffine(world, m, (width, height), flags=cv2.INTER_LINEAR)
        mask = np.zeros((height, width), np.uint8)
        # The object drifts slowly against the pan, so every background pixel is seen in some frame.
        cx = int(width * 0.35 + i * (width * 0.3) / max(1, n_frames - 1))
        cy = height // 2
        cv2.ellipse(mask, (cx, cy), (ow // 2, oh // 2), 0, 0, 360, 255, -1)
        frame = view.copy()
        frame[mask > 0] = (200, 40, 40)
        frames.append(frame)
        background.append(view)
        masks.append(mask)
    return PanScene(frames, background, masks, (vx, vy))


def write_clip(
    path: str | Path,
    frames: Iterable[np.ndarray],
    rate: Fraction | int = 24,
    codec: str = "libx264",
    pix_fmt: str | None = None,
    gop: int | None = None,
    bframes: int | None = None,
    options: dict[str, str] | None = None,
    audio_seconds: float | None = None,
    audio_rate: int = 48000,
    timecode: str | None = None,
) -> Path:
    """Write RGB frames as a video file with PyAV; optionally a sine tone as an AAC/PCM audio track.

    ``pix_fmt`` defaults to yuv420p, or yuv444p for odd sizes (4:2:0 cannot hold an odd size).
    ``timecode`` ("HH:MM:SS:FF") is the start timecode a MOV/MP4 carries in its timecode track.
    """
    path = Path(path)
    frames_it: Iterator[np.ndarray] = iter(frames)
    first = next(frames_it)
    height, width = first.shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height = width, height
        if pix_fmt is None:
            pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        stream.pix_fmt = pix_fmt
        opts = dict(options or {})
        if codec in ("libx264", "libx265"):
            opts.setdefault("preset", "ultrafast")
            opts.setdefault("crf", "12")
        stream.options = opts
        if timecode is not None:
            stream.metadata["timecode"] = timecode
        if gop is not None:
            stream.codec_context.gop_size = gop
        if bframes is not None:
            stream.codec_context.max_b_frames = bframes
        astream = None
        if audio_seconds:
            acodec = "aac" if path.suffix.lower() in (".mp4", ".mov", ".m4v") else "pcm_s16le"
            astream = out.add_stream(acodec, rate=audio_rate)
            astream.layout = "stereo"
        for frame in _chain(first, frames_it):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            out.mux(stream.encode(vf))
        out.mux(stream.encode())
        if astream is not None:
            _write_tone(out, astream, audio_seconds, audio_rate)
    return path


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _write_tone(out: av.container.OutputContainer, stream, seconds: float, rate: int) -> None:
    total = round(seconds * rate)
    frame_size = stream.codec_context.frame_size or 1024
    t0 = 0
    while t0 < total:
        n = min(frame_size, total - t0)
        t = (np.arange(t0, t0 + n) / rate).astype(np.float32)
        tone = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
        data = np.stack([tone, tone]).reshape(1, -1, order="F")  # packed s16 stereo
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="s16", layout="stereo")
        af.sample_rate = rate
        af.pts = t0
        out.mux(stream.encode(af))
        t0 += n
    out.mux(stream.encode())


# -- clips with unusual timing, orientation or damage (media tests) -----------------------------------


def write_custom_clip(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    rate: Fraction | int = 24,
    times: Iterable[Fraction] | None = None,
    rotation: int = 0,
    codec: str = "libx264",
    pix_fmt: str | None = None,
    gop: int | None = None,
    bframes: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Like :func:`write_clip`, plus per-frame ``times`` (seconds → a variable-rate clip, on a 1/90000
    clock) and ``rotation``: the clockwise degrees a player turns the picture (display-matrix side data,
    as phones write it)."""
    path = Path(path)
    frames_it: Iterator[np.ndarray] = iter(frames)
    first = next(frames_it)
    height, width = first.shape[:2]
    time_base = Fraction(1, 90000)
    stamps = iter(times) if times is not None else None
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height = width, height
        stream.pix_fmt = pix_fmt or ("yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p")
        opts = dict(options or {})
        if codec in ("libx264", "libx265"):
            opts.setdefault("preset", "ultrafast")
            opts.setdefault("crf", "12")
        if codec == "libx265":
            opts.setdefault("x265-params", "log-level=error")
        stream.options = opts
        if stamps is not None:
            stream.codec_context.time_base = time_base
        if gop is not None:
            stream.codec_context.gop_size = gop
        if bframes is not None:
            stream.codec_context.max_b_frames = bframes
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV counts counter-clockwise
        for frame in _chain(first, frames_it):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            if stamps is not None:
                vf.pts, vf.time_base = round(Fraction(next(stamps)) / time_base), time_base
            out.mux(stream.encode(vf))
        out.mux(stream.encode())
    return path


def write_audio_only(path: str | Path, seconds: float = 1.0, rate: int = 48000) -> Path:
    """A file with one audio stream (a sine tone) and no video."""
    path = Path(path)
    with av.open(str(path), "w") as out:
        codec = "aac" if path.suffix.lower() in (".mp4", ".m4a", ".mov") else "pcm_s16le"
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "stereo"
        _write_tone(out, stream, seconds, rate)
    return path


def write_empty_video(path: str | Path, width: int = 64, height: int = 48) -> Path:
    """A container (AVI) whose video stream has no frames at all."""
    path = Path(path)
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        out.start_encoding()
    return path


def truncated_copy(src: str | Path, dst: str | Path, keep: float) -> Path:
    """The first ``keep`` fraction (0–1) of ``src``'s bytes, as a download cut short leaves it."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * keep)])
    return Path(dst)


def corrupted_copy(
    src: str | Path, dst: str | Path, start: float = 0.4, length: float = 0.2, seed: int = 0
) -> Path:
    """``src`` with the bytes from ``start`` for ``length`` (fractions of the size) replaced by noise."""
    data = bytearray(Path(src).read_bytes())
    a, n = int(len(data) * start), max(1, int(len(data) * length))
    data[a : a + n] = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()
    Path(dst).write_bytes(bytes(data[: len(data)]))
    return Path(dst)


# -- scenes for the flow engine's tests ------------------------------------------------------------


def deforming_scene(
    n_frames: int = 24,
    width: int = 160,
    height: int = 96,
    velocity: tuple[float, float] = (2.0, 0.5),
    grow: float = 1.6,
    seed: int = 0,
) -> PanScene:
    """Like :func:`pan_scene`, but the object is textured and grows by ``grow`` over the clip while it
    drifts, so no single translation explains its motion (a test for flow-based mask tracking)."""
    vx, vy = velocity
    margin_x, margin_y = int(abs(vx) * n_frames) + 8, int(abs(vy) * n_frames) + 8
    world = _texture(width + 2 * margin_x, height + 2 * margin_y, seed)
    skin = _texture(width, height, seed + 1)
    frames, background, masks = [], [], []
    for i in range(n_frames):
        m = np.float32([[1, 0, -(margin_x + vx * i)], [0, 1, -(margin_y + vy * i)]])
        view = cv2.warpAffine(world, m, (width, height), flags=cv2.INTER_LINEAR)
        s = 1.0 + (grow - 1.0) * i / max(1, n_frames - 1)
        cx, cy = width * (0.35 + 0.2 * i / max(1, n_frames - 1)), height * 0.5
        # The object's own texture is scaled about its centre, so its pixels move with the shape.
        a = np.float32([[s, 0, cx - s * width / 2], [0, s, cy - s * height / 2]])
        skin_view = cv2.warpAffine(skin, a, (width, height), flags=cv2.INTER_LINEAR)
        mask = np.zeros((height, width), np.uint8)
        axes = (round(width * 0.1 * s), round(height * 0.16 * s))
        cv2.ellipse(mask, (round(cx), round(cy)), axes, 0, 0, 360, 255, -1)
        frame = view.copy()
        frame[mask > 0] = skin_view[mask > 0]
        frames.append(frame)
        background.append(view)
        masks.append(mask)
    return PanScene(frames, background, masks, (vx, vy))


def write_click_clip(
    path: str | Path, seconds: float = 2.0, click_at: float = 1.0, rate: int = 44100
) -> Path:
    """24 fps video and 16-bit stereo PCM, silent except a 10 ms loud burst (a click) at ``click_at``."""
    path = Path(path)
    frames = [np.full((32, 48, 3), i * 5 % 255, np.uint8) for i in range(int(seconds * 24))]
    samples = np.zeros((2, int(seconds * rate)), np.int16)
    a = int(click_at * rate)
    n = rate // 100
    samples[:, a : a + n] = np.where(np.arange(n) // 11 % 2, -30000, 30000)  # a 2 kHz square burst
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=rate, layout="stereo")
        for image in frames:
            out.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(video.encode())
        step = 1024
        for start in range(0, samples.shape[1], step):
            chunk = np.ascontiguousarray(samples[:, start : start + step].T.reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate, frame.pts = rate, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path
