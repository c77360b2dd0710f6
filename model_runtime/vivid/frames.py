"""Frames between the clip and the model: letterboxing to the model size and back, tensors.

Source frames are resized to the model resolution keeping their aspect, centred, and padded with black;
the padding is known content (mask 0). Model output is cropped back and resized to the source size;
compositing then keeps the source exactly outside the feathered mask. Files (frames, masks, keyframe
images) go through :mod:`vivid_desktop.render_folder`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch


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


def kive_inputs(
    frames: list[np.ndarray], masks: list[np.ndarray], known: np.ndarray | None, pad: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The frames and masks a KIVE window is conditioned on (DESIGN.md §1).

    With a ``known`` frame (an edited keyframe, the previous window's last output, or, when the trainer
    builds a KIVE sample, the clip's own first frame), model frame 0 shows it and its mask is 0: known
    content to propagate from. ``pad`` copies of the last frame and mask fill the window to the model's
    length. The engine's windows and the trainer's KIVE samples are both built here.
    """
    frames, masks = list(frames), list(masks)
    if known is not None:
        frames[0], masks[0] = known, np.zeros_like(masks[0])
    return frames + [frames[-1]] * pad, masks + [masks[-1]] * pad
