"""Colour models that pull a carried mask's edge back onto the object it was painted on.

A mask carried along the flow loses thin parts and drifts onto the background a little each frame. The
anchor frame tells which colours belong to the object and which to the background around it; each carried
mask is re-decided near its edge by combining "where the flow put it" (the mask, blurred into a prior)
with "how object-like this colour is" (a log-likelihood ratio from the anchor's colour histograms).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Histogram bins per RGB channel (16 → 4096 bins: coarse enough for a few thousand object pixels).
_BINS = 16
#: Width of the prior's uncertain band (Gaussian sigma, pixels): how far an edge may move per frame.
_SIGMA = 2.0
#: Bound on the colour evidence (log ratio), so no colour overrides a confident prior on its own.
_MAX_EVIDENCE = 4.0


def _bins(image: np.ndarray) -> np.ndarray:
    q = (image // (256 // _BINS)).astype(np.int32)
    return (q[..., 0] * _BINS + q[..., 1]) * _BINS + q[..., 2]


def colour_model(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """log P(colour | object) / P(colour | background near it), float32 (bins³,), from an anchor frame.

    The background is a ring around the object about a seventh of the frame's long side wide: what the
    mask could slide onto.
    """
    obj = mask >= 128
    r = round(max(mask.shape) / 14)
    ring = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    q = _bins(image)
    counts = [np.bincount(q[sel], minlength=_BINS**3).astype(np.float32) for sel in (obj, (ring > 0) & ~obj)]
    p_obj, p_bg = (c / max(1.0, float(c.sum())) for c in counts)
    return np.log((p_obj + 1e-4) / (p_bg + 1e-4)).astype(np.float32)


def refine_mask(mask: np.ndarray, image: np.ndarray, model: np.ndarray) -> np.ndarray:
    """The binary mask (uint8 0/255) re-decided near its edge by the colours of ``image``."""
    ys, xs = np.nonzero(mask >= 128)
    if len(ys) == 0:
        return mask
    pad = int(4 * _SIGMA) + 1  # beyond this the blurred prior is too small for any colour to win
    h, w = mask.shape
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    crop = mask[y0:y1, x0:x1].astype(np.float32) / 255.0
    prior = np.clip(cv2.GaussianBlur(crop, (0, 0), _SIGMA), 1e-3, 1 - 1e-3)
    evidence = np.clip(model[_bins(image[y0:y1, x0:x1])], -_MAX_EVIDENCE, _MAX_EVIDENCE)
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = np.where(np.log(prior / (1 - prior)) + evidence > 0, 255, 0)
    return out
