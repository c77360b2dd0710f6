"""Small preview images for events: an RGB array → (PreviewInfo, bytes) for one binary buffer."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from vivid_desktop.protocol.messages import PreviewInfo

log = logging.getLogger(__name__)

#: Previews are thumbnails for the timeline and progress view; the real frame is on disk.
MAX_SIDE = 256


def encode_preview(image: object, max_side: int = MAX_SIDE) -> tuple[PreviewInfo, bytes] | None:
    """JPEG when OpenCV is there, raw RGB otherwise; None (logged) for an array that is no image."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8 or 0 in arr.shape[:2]:
        log.warning("preview dropped: want uint8 (H, W, 3), got %s %s", arr.dtype, arr.shape)
        return None
    arr = arr[:, :, :3]
    cv2: Any
    try:
        import cv2
    except ImportError:  # OpenCV is optional for previews: raw RGB then
        cv2 = None
    arr = _shrink(arr, max_side, cv2)
    height, width = arr.shape[:2]
    if cv2 is not None:
        ok, data = cv2.imencode(".jpg", np.ascontiguousarray(arr[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 85])
        if ok:
            return PreviewInfo(format="jpeg", width=width, height=height), data.tobytes()
    return PreviewInfo(format="raw", width=width, height=height), np.ascontiguousarray(arr).tobytes()


def _shrink(arr: np.ndarray, max_side: int, cv2: Any) -> np.ndarray:
    height, width = arr.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return arr
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if cv2 is not None:
        return cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
    step = int(np.ceil(1 / scale))
    return arr[::step, ::step]
