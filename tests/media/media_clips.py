"""Test media for the media-layer tests, made with PyAV (each clip on first use, once per session).

Every clip's frame ``k`` is ``synth.numbered_frame(k, …)``, so a decoded picture says which stored frame
it is. Sizes are small to keep the suite fast, but large enough for the number code to survive x264.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from vivid_desktop.media import synth

W, H = 160, 96
#: x264 without scene cuts, so GOPs are exactly as long as asked (numbered frames change a lot).
NO_SCENECUT = {"preset": "veryfast", "crf": "18", "x264-params": "scenecut=0"}


def numbered(count: int, width: int = W, height: int = H) -> list[np.ndarray]:
    return [synth.numbered_frame(k, width, height) for k in range(count)]


#: Timestamps (seconds) of the variable-rate clip: a 30 fps camera that drops frames now and then,
#: one frame that arrives only 5 ms after its predecessor (it shares a timeline slot), and a stall.
VFR_TIMES = [Fraction(i, 30) for i in (0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13)]
VFR_TIMES += [Fraction(13, 30) + Fraction(5, 1000), Fraction(15, 30), Fraction(16, 30), Fraction(20, 30)]
VFR_TIMES += [Fraction(i, 30) for i in range(21, 28)]


class Clips:
    """Lazily written test clips in one session folder."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder

    def _path(self, name: str) -> Path:
        return self.dir / name

    @cached_property
    def long_gop(self) -> Path:
        """72 frames at 24 fps, two GOPs of 36, B-frames (x264 veryfast + 3 B-frames), MP4."""
        return synth.write_clip(
            self._path("long_gop.mp4"), numbered(72), rate=24, gop=36, bframes=3, options=NO_SCENECUT
        )

    @cached_property
    def ntsc_mkv(self) -> Path:
        """30000/1001 in Matroska (1 ms clock: timestamps are rounded), GOP 10 with B-frames."""
        return synth.write_clip(
            self._path("ntsc.mkv"), numbered(30), rate=Fraction(30000, 1001), gop=10, bframes=2,
            options=NO_SCENECUT,
        )  # fmt: skip

    @cached_property
    def ntsc_audio(self) -> Path:
        """30000/1001 MP4 with an AAC stereo track as long as the video."""
        return synth.write_clip(
            self._path("ntsc_audio.mp4"), numbered(30), rate=Fraction(30000, 1001),
            audio_seconds=30 * 1001 / 30000,
        )  # fmt: skip

    @cached_property
    def odd(self) -> Path:
        """853×481 (odd: 4:4:4 chroma), 6 frames."""
        return synth.write_clip(self._path("odd.mp4"), numbered(6, 853, 481), rate=25)

    @cached_property
    def rotated(self) -> Path:
        """Stored 160×96, displayed turned 90° clockwise (a phone held upright)."""
        return synth.write_custom_clip(self._path("rotated.mp4"), numbered(12), rate=30, rotation=90)

    @cached_property
    def vfr(self) -> Path:
        """Variable rate (:data:`VFR_TIMES`), MP4 with B-frames."""
        return synth.write_custom_clip(
            self._path("vfr.mp4"), numbered(len(VFR_TIMES)), rate=30, times=VFR_TIMES, bframes=2
        )

    @cached_property
    def ten_bit(self) -> Path:
        """10-bit 4:2:0 H.264 of smooth gradients (so the 8-bit reading can be compared closely)."""
        return synth.write_clip(
            self._path("ten_bit.mp4"), gradients(8), rate=24, pix_fmt="yuv420p10le", options={"crf": "4"}
        )

    @cached_property
    def prores(self) -> Path:
        """10-bit 4:2:2 ProRes in a MOV, intra-only, numbered."""
        return synth.write_clip(self._path("prores.mov"), numbered(10), rate=24, codec="prores_ks",
                                pix_fmt="yuv422p10le")  # fmt: skip

    @cached_property
    def text_mp4(self) -> Path:
        path = self._path("notes.mp4")
        path.write_text("This is not a video.\n" * 20)
        return path

    @cached_property
    def png(self) -> Path:
        path = self._path("still.png")
        cv2.imwrite(str(path), synth.numbered_frame(3, W, H))
        return path

    @cached_property
    def audio_only(self) -> Path:
        return synth.write_audio_only(self._path("tone.m4a"), seconds=0.5)

    @cached_property
    def zero_frames(self) -> Path:
        return synth.write_empty_video(self._path("empty.avi"))

    @cached_property
    def long_gop_mkv(self) -> Path:
        """The long-GOP clip in Matroska, whose index is written at the end (what truncation cuts)."""
        return synth.write_clip(
            self._path("long_gop.mkv"), numbered(72), rate=24, gop=36, bframes=3, options=NO_SCENECUT
        )


def gradients(count: int) -> list[np.ndarray]:
    """Smooth colour ramps that move a little per frame."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    frames = []
    for k in range(count):
        r = 255 * x / (W - 1)
        g = 255 * y / (H - 1)
        b = 128 + 100 * np.sin((x + 4 * k) / 20.0)
        frames.append(np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8))
    return frames
