"""Which part of the frame the model sees: a crop around the mask at native resolution, or the whole frame.

On 1080p or 4K footage a small mask letterboxed with the whole frame to 480×720 would be edited as a
low-resolution patch and upscaled. **Crop** mode runs the model on one box around the union of the
window's masks instead: padded, with the model's aspect, at least the model's size when the frame allows
(so the model sees native pixels, not an upscale), the same box for every frame of the window. The
model's output is resized back into the box and composited with the feather; pixels outside the
feathered mask stay the source's, bit for bit.

``framing`` setting: ``auto`` (crop when the box covers at most :data:`AUTO_MAX_AREA` of the frame,
else letterbox), ``crop``, ``letterbox``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from model_runtime.vivid.frames import Letterbox

MODES = ("auto", "crop", "letterbox")
#: ``auto`` crops when the box is at most this fraction of the frame's area.
AUTO_MAX_AREA = 0.5


@dataclass(frozen=True)
class CropBox:
    """A ``(top, left, height, width)`` box of a ``src`` frame, run at the model size ``dst``."""

    src: tuple[int, int]
    dst: tuple[int, int]
    top: int
    left: int
    height: int
    width: int

    def to_model(self, img: np.ndarray) -> np.ndarray:
        """The box, resized to the model size (a plain crop when the box is the model's size)."""
        body = img[self.top : self.top + self.height, self.left : self.left + self.width]
        if (self.height, self.width) == self.dst:
            return np.ascontiguousarray(body)
        interp = cv2.INTER_AREA if self.height > self.dst[0] else cv2.INTER_CUBIC
        return cv2.resize(body, (self.dst[1], self.dst[0]), interpolation=interp)

    def from_model(self, img: np.ndarray, source: np.ndarray) -> np.ndarray:
        """``source`` with the box replaced by the model output (compositing then limits it to the mask)."""
        if (self.height, self.width) != self.dst:
            interp = cv2.INTER_AREA if self.height < self.dst[0] else cv2.INTER_CUBIC
            img = cv2.resize(img, (self.width, self.height), interpolation=interp)
        out = source.copy()
        out[self.top : self.top + self.height, self.left : self.left + self.width] = img
        return out

    @property
    def area_fraction(self) -> float:
        return self.height * self.width / (self.src[0] * self.src[1])


class WholeFrame:
    """Letterboxing behind the same interface as :class:`CropBox`."""

    def __init__(self, src: tuple[int, int], dst: tuple[int, int]) -> None:
        self.box = Letterbox.fit(src, dst)

    def to_model(self, img: np.ndarray) -> np.ndarray:
        return self.box.to_model(img)

    def from_model(self, img: np.ndarray, source: np.ndarray) -> np.ndarray:
        return self.box.from_model(img)


def crop_box(
    masks: list[np.ndarray], dst: tuple[int, int], feather: int, pad_fraction: float = 0.25
) -> CropBox | None:
    """One box holding every mask (padded by ``pad_fraction`` and the feather), or ``None`` if none fits.

    The box has the model's aspect, is at least the model's size where the frame allows it, is centred
    on the masks and moved (not shrunk) to stay inside the frame.
    """
    union = np.maximum.reduce([m > 0 for m in masks])
    ys, xs = np.nonzero(union)
    if len(ys) == 0:
        return None
    src = union.shape
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    pad = max(8, 2 * feather + 2, round(pad_fraction * max(y1 - y0, x1 - x0)))
    y0, y1, x0, x1 = y0 - pad, y1 + pad, x0 - pad, x1 + pad
    aspect = dst[1] / dst[0]
    h = max(y1 - y0, (x1 - x0) / aspect, dst[0])
    h = min(h, src[0], src[1] / aspect)  # the largest box of this aspect the frame holds
    w = h * aspect
    height, width = round(h), round(w)
    if height < min(y1 - y0, src[0]) or width < min(x1 - x0, src[1]):
        return None  # the masks need more than a box of the model's aspect inside the frame
    top = min(max(0, (y0 + y1 - height) // 2), src[0] - height)
    left = min(max(0, (x0 + x1 - width) // 2), src[1] - width)
    return CropBox(src, dst, top, left, height, width)


def choose(mode: str, masks: list[np.ndarray], dst: tuple[int, int], feather: int) -> CropBox | WholeFrame:
    """The framing for one model pass over frames with these masks (``mode``: see the module docstring)."""
    src = masks[0].shape[:2]
    if mode == "letterbox":
        return WholeFrame(src, dst)
    box = crop_box(masks, dst, feather)
    if box is None or (mode == "auto" and box.area_fraction > AUTO_MAX_AREA):
        return WholeFrame(src, dst)
    return box
