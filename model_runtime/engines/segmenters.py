"""What a mask model is to the runtime: a :class:`Segmenter` (clicks/box → mask on one frame) and a
:class:`Tracker` (anchor masks → a mask on every frame), with the classical CPU implementations.

The learned pair, SAM 2.1 on transformers (:mod:`model_runtime.engines.sam2_model`,
:mod:`model_runtime.engines.sam2_track`), is offered only when a SAM 2 model folder is given: it needs
the user's weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

import numpy as np

from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.track import track_masks
from model_runtime.engines.sam2_model import Sam2Segmenter
from model_runtime.engines.sam2_track import Sam2Tracker
from vivid_desktop.core.select import Prompt, select_object


class Segmenter(Protocol):
    """Makes a keyframe mask from a prompt."""

    name: str

    def select(self, image: np.ndarray, prompt: Prompt) -> np.ndarray:
        """uint8 0/255 mask of the RGB ``image``'s object that ``prompt`` points at."""


class Tracker(Protocol):
    """Carries anchor masks through a clip."""

    name: str

    def track(
        self,
        flows: ClipFlow,
        anchors: Mapping[int, np.ndarray],
        lo: int,
        hi: int,
        needed: Callable[[int], bool],
        check: Callable[[], None],
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(t, mask)`` for every needed frame of ``[lo, hi)`` in order; anchors keep their own masks."""


class GrabCutSegmenter:
    """Clicks and a box → GrabCut (CPU, no weights)."""

    name = "grabcut"

    def select(self, image: np.ndarray, prompt: Prompt) -> np.ndarray:
        return select_object(image, prompt)


class FlowTracker:
    """The flow engine's tracker (CPU, no weights): see :mod:`model_runtime.engines.flow.track`."""

    name = "flow"

    def track(self, flows, anchors, lo, hi, needed, check) -> Iterator[tuple[int, np.ndarray]]:
        return track_masks(flows, anchors, lo, hi, needed, check)


def segmenters(sam2_model: str | None = None, device: str = "auto") -> dict[str, Segmenter]:
    """The segmenters this runtime can run, by name (``sam2`` with a SAM 2 model folder)."""
    found: dict[str, Segmenter] = {"grabcut": GrabCutSegmenter()}
    if sam2_model:
        found["sam2"] = Sam2Segmenter(sam2_model, device)
    return found


def trackers(sam2_model: str | None = None, device: str = "auto") -> dict[str, Tracker]:
    """The trackers this runtime can run, by name (``sam2`` with a SAM 2 model folder)."""
    found: dict[str, Tracker] = {"flow": FlowTracker()}
    if sam2_model:
        found["sam2"] = Sam2Tracker(sam2_model, device)
    return found
