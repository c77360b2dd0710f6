"""OpenCV calls whose stubs are narrower than OpenCV itself, wrapped once so that callers stay checked.

The stubs of opencv-python require ``remap``'s ``map2`` (OpenCV takes None with one two-channel map of
``(x, y)`` points) and the initial flow of ``DenseOpticalFlow.calc`` (None: no guess), and type
``imdecode``'s result as possibly None (it is, for bytes that are no image).
"""

from __future__ import annotations

import cv2
import numpy as np

Scalar = float | tuple[float, ...]


def remap_points(
    src: np.ndarray, xy: np.ndarray, interpolation: int, border_mode: int, border_value: Scalar = 0.0
) -> np.ndarray:
    """``cv2.remap`` with one float map of ``(x, y)`` source points per output pixel."""
    return cv2.remap(  # type: ignore[call-overload]  # map2=None: see the module docstring
        src, xy, None, interpolation, borderMode=border_mode, borderValue=border_value
    )


def decode(data: np.ndarray, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """``cv2.imdecode`` of bytes we encoded ourselves; ``ValueError`` if they are no image."""
    image = cv2.imdecode(data, flags)
    if image is None:
        raise ValueError("these bytes are not an image OpenCV can read")
    return image


def dense_flow(algorithm: cv2.DenseOpticalFlow, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The flow from ``a`` to ``b`` without an initial guess (the stubs require one; OpenCV takes None)."""
    return algorithm.calc(a, b, None)  # type: ignore[call-overload]
