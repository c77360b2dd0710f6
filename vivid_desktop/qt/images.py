"""Conversions between numpy frames/masks and Qt images (the only place pixels cross into Qt)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage


def qimage_from_rgb(frame: np.ndarray) -> QImage:
    """An owned RGB888 QImage from a uint8 (H, W, 3) array (the array may be freed afterwards)."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    h, w = frame.shape[:2]
    image = QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_RGB888)
    return image.copy()  # detach from the numpy buffer


def qimage_from_mask(mask: np.ndarray, color: QColor, opacity: float) -> QImage:
    """A translucent overlay: ``color`` where the mask is set, alpha scaled by mask value and opacity."""
    h, w = mask.shape[:2]
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., 0] = color.red()
    rgba[..., 1] = color.green()
    rgba[..., 2] = color.blue()
    alpha = mask.astype(np.uint16) * round(max(0.0, min(1.0, opacity)) * 255) // 255
    rgba[..., 3] = alpha.astype(np.uint8)
    image = QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888)
    return image.copy()


def qimage_from_grey(mask: np.ndarray) -> QImage:
    """A mask shown on its own (mask-only view): white = region to edit."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    h, w = mask.shape[:2]
    image = QImage(mask.data, w, h, mask.strides[0], QImage.Format.Format_Grayscale8)
    return image.copy()


def difference_image(a: np.ndarray, b: np.ndarray, gain: float = 4.0) -> np.ndarray:
    """|a - b| per pixel, amplified so that small changes show (identical pixels are black)."""
    if a.shape != b.shape:
        return np.zeros_like(a)
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).astype(np.float32) * gain
    return np.clip(diff, 0, 255).astype(np.uint8)


def rgb_from_qimage(image: QImage) -> np.ndarray:
    """A uint8 (H, W, 3) copy of any QImage (used by tests and screenshot tools)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()
