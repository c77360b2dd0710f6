"""One frame's segmentation in a band around a prior: colour models, evidence, edge snapping.

The tracker hands each frame a *prior* — the previous frame's object probability moved along the flow —
and this module decides the object in a band around it:

- :class:`ColourModel`: normalised colour histograms of the object and of the background around it
  (RGB, 16 levels per channel), learned on the anchors and updated with confident frames; its evidence
  is the log-likelihood ratio of a pixel's colour, bounded so that no colour overrides a confident prior.
- :func:`segment` adds prior and evidence as log-odds inside the band (outside it the answer is
  "background"), then snaps the probability to the picture's edges with a guided filter (He et al.): a
  local linear model of the probability in the grey image, so a boundary settles on an image edge.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Levels per RGB channel (16 → 4096 bins: coarse enough for a few thousand object pixels).
_LEVELS = 16
#: Bound on the colour evidence (log ratio) per pixel.
MAX_EVIDENCE = 3.0
#: Guided filter (edge snapping): window radius (pixels) and regularisation (larger = less snapping).
SNAP_RADIUS, SNAP_EPS = 2, 1e-3
#: Evidence of a colour seen on neither side: new content leans to the background.
UNSEEN = 1.5
#: Weight of the moved prior's log-odds against the colour evidence.
PRIOR_WEIGHT = 1.0
#: Log-odds kept for probabilities of exactly 0 or 1.
MAX_LOGIT = 6.0


def colour_bins(image: np.ndarray) -> np.ndarray:
    """Histogram bin (int32) of every RGB pixel."""
    q = (image >> 4).astype(np.int32) if _LEVELS == 16 else (image // (256 // _LEVELS)).astype(np.int32)
    return (q[..., 0] * _LEVELS + q[..., 1]) * _LEVELS + q[..., 2]


def ring(region: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` of ``region`` but outside it (bool)."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return (cv2.dilate(region.astype(np.uint8), disc) > 0) & ~region


class ColourModel:
    """Object and nearby-background colour histograms (probabilities over the bins)."""

    def __init__(self, image: np.ndarray, region: np.ndarray, ring_width: int) -> None:
        bins = colour_bins(image)
        self.obj = _histogram(bins[region])
        self.bg = _histogram(bins[ring(region, ring_width)])
        self._table: np.ndarray | None = None

    def update(self, image: np.ndarray, region: np.ndarray, ring_width: int, rate: float) -> None:
        """Blend in the colours of a confidently segmented frame (``rate`` = its share)."""
        bins = colour_bins(image)
        self.obj = (1 - rate) * self.obj + rate * _histogram(bins[region])
        self.bg = (1 - rate) * self.bg + rate * _histogram(bins[ring(region, ring_width)])
        self._table = None

    def evidence(self, image: np.ndarray) -> np.ndarray:
        """Bounded log P(colour | object) / P(colour | background) of every pixel, float32."""
        if self._table is None:
            # A colour seen on neither side leans to the background: new content is not the object.
            ratio = np.log((self.obj + 1e-4) / (self.bg + 1e-4))
            ratio[self.obj + self.bg < 1e-5] = -UNSEEN
            self._table = np.clip(ratio, -MAX_EVIDENCE, MAX_EVIDENCE).astype(np.float32)
        return self._table[colour_bins(image)]


def _histogram(bins: np.ndarray) -> np.ndarray:
    """Normalised histogram, smoothed over neighbouring colours (a [1 2 1] kernel along each axis)."""
    cube = np.bincount(bins, minlength=_LEVELS**3).astype(np.float32).reshape((_LEVELS,) * 3)
    for axis in range(3):
        padded = np.pad(cube, [(1, 1) if a == axis else (0, 0) for a in range(3)])
        lo, mid, hi = (np.take(padded, range(i, i + _LEVELS), axis=axis) for i in range(3))
        cube = 0.25 * lo + 0.5 * mid + 0.25 * hi
    flat = cube.ravel()
    return flat / max(1e-6, float(flat.sum()))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-3, 1 - 1e-3)
    return np.clip(np.log(p / (1 - p)), -MAX_LOGIT, MAX_LOGIT).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter of ``src`` by the grey ``guide`` (both float32 in [0, 1])."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov = box(guide * src) - mean_i * mean_p
    var = box(guide * guide) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


#: The most a frame's object may grow or shrink against the moved prior's area (a leak onto a neighbour
#: of the same colour, or a part swallowed by the background, is held to this much per frame).
AREA_CHANGE = 0.5


def _keep_area(score: np.ndarray, allowed: np.ndarray, expected: float) -> np.ndarray:
    """``score`` shifted so that the object's area stays within ``AREA_CHANGE`` of ``expected``."""
    values = score[allowed]
    area = int((values > 0).sum())
    hi, lo = int(expected * (1 + AREA_CHANGE)) + 1, int(expected * (1 - AREA_CHANGE))
    if area > hi and hi < len(values):
        return score - float(np.partition(values, len(values) - hi)[len(values) - hi])
    if area < lo and 0 < lo <= len(values):
        return score - float(np.partition(values, len(values) - lo)[len(values) - lo]) + 1e-3
    return score


def segment(
    prior: np.ndarray,
    image: np.ndarray,
    model: ColourModel,
    band: int,
    colour_weight: float = 1.0,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Object probability (float32, 0..1) of ``image`` given the ``prior`` probability.

    ``extra``: more log-odds evidence (whole frame). Only a ``band`` of pixels around the prior's object
    can be object; the work is done in the band's bounding box.
    """
    core = prior >= 0.5
    ys, xs = np.nonzero(prior > 0.05)
    out = np.zeros(prior.shape, np.float32)
    if len(ys) == 0:
        return out
    pad = band + 2
    h, w = prior.shape
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    crop = (slice(y0, y1), slice(x0, x1))
    p, img = prior[crop], image[crop]
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    allowed = cv2.dilate(((p > 0.05) | core[crop]).astype(np.uint8), disc) > 0
    score = PRIOR_WEIGHT * logit(p) + colour_weight * model.evidence(img)
    if extra is not None:
        score += extra[crop]
    score = _keep_area(score, allowed, float((p >= 0.5).sum()))
    prob = np.where(allowed, sigmoid(score), 0.0).astype(np.float32)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    snapped = guided_filter(grey, prob, SNAP_RADIUS, SNAP_EPS)
    out[crop] = np.where(allowed, np.clip(snapped, 0.0, 1.0), 0.0)
    return out
