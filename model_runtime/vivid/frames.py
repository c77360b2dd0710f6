"""Frames between the clip and the model: letterboxing to the model size and back, tensors, files.

Source frames are resized to the model resolution keeping their aspect, centred, and padded with black;
the padding is known content (mask 0). Model output is cropped back and resized to the source size;
compositing then keeps the source exactly outside the feathered mask.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from model_runtime.engines.base import EngineError


@dataclass(frozen=True)
class Letterbox:
    """Where a ``src`` (h, w) frame sits inside a ``dst`` (h, w) model frame."""

    src: tuple[int, int]
    dst: tuple[int, int]
    inner: tuple[int, int]
    top: int
    left: int

    @classmethod
    def fit(cls, src: tuple[int, int], dst: tuple[int, int]) -> Letterbox:
        scale = min(dst[0] / src[0], dst[1] / src[1])
        inner = (max(1, min(dst[0], round(src[0] * scale))), max(1, min(dst[1], round(src[1] * scale))))
        return cls(src, dst, inner, (dst[0] - inner[0]) // 2, (dst[1] - inner[1]) // 2)

    def to_model(self, img: np.ndarray) -> np.ndarray:
        """Resize into the box and pad with zeros (black pixels / known mask)."""
        shrink = self.inner[0] < self.src[0]
        interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
        body = cv2.resize(img, (self.inner[1], self.inner[0]), interpolation=interp)
        out = np.zeros((*self.dst, *img.shape[2:]), img.dtype)
        out[self.top : self.top + self.inner[0], self.left : self.left + self.inner[1]] = body
        return out

    def from_model(self, img: np.ndarray) -> np.ndarray:
        """Crop the box out of a model frame and resize it to the source size."""
        body = img[self.top : self.top + self.inner[0], self.left : self.left + self.inner[1]]
        interp = cv2.INTER_CUBIC if self.inner[0] < self.src[0] else cv2.INTER_AREA
        return cv2.resize(body, (self.src[1], self.src[0]), interpolation=interp)


def video_tensor(frames: list[np.ndarray]) -> torch.Tensor:
    """uint8 RGB frames → ``(1, 3, F, H, W)`` float in [-1, 1]."""
    arr = torch.from_numpy(np.stack(frames)).float()  # (F, H, W, 3)
    return (arr / 127.5 - 1.0).permute(3, 0, 1, 2)[None].contiguous()


def mask_tensor(masks: list[np.ndarray]) -> torch.Tensor:
    """uint8 masks (255 = edit) → ``(1, 1, F, H, W)`` float in [0, 1]."""
    return (torch.from_numpy(np.stack(masks)).float() / 255.0)[None, None].contiguous()


def to_uint8(video: torch.Tensor) -> list[np.ndarray]:
    """``(1, 3, f, H, W)`` in [-1, 1] → uint8 RGB frames."""
    arr = ((video[0].float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return list(arr.permute(1, 2, 3, 0).cpu().numpy())


def read_rgb(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """An RGB PNG (resized to ``shape`` (h, w) when given)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise EngineError("bad_input", f"cannot read image {path}")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if shape is not None and img.shape[:2] != shape:
        img = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return img


def read_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """An 8-bit grey mask PNG at the source size ``shape`` (h, w)."""
    m = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if m is None:
        raise EngineError("bad_input", f"cannot read mask {path}")
    if m.shape != shape:
        m = cv2.resize(m, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return m


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB PNG atomically (temp name in the same folder, then rename)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise EngineError("write_failed", f"cannot encode {target.name}")
        with open(tmp, "wb") as fh:
            fh.write(buf.tobytes())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def thumbnail(rgb: np.ndarray, max_side: int = 160) -> np.ndarray:
    """A small copy for ``frame_ready`` previews."""
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


class MaskSource:
    """Masks of a render plan: per-frame files (nearest file for frames without one) or one mask."""

    def __init__(self, mask_dir: str | None, mask: str | None, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.single = mask
        self.files: dict[int, Path] = {}
        if mask_dir:
            for p in Path(mask_dir).glob("*.png"):
                if p.stem.isdigit():
                    self.files[int(p.stem)] = p
        if not self.files and not mask:
            raise EngineError("no_mask", "the render plan has no mask (mask_dir is empty and mask is unset)")
        self._keys = np.array(sorted(self.files)) if self.files else None

    def __call__(self, frame: int) -> np.ndarray:
        if self._keys is None:
            return read_mask(self.single, self.shape)  # type: ignore[arg-type]
        nearest = int(self._keys[np.argmin(np.abs(self._keys - frame))])
        return read_mask(self.files[nearest], self.shape)
