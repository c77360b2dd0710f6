"""What a mask model is to the runtime: a :class:`Segmenter` (clicks/box → mask on one frame) and a
:class:`Tracker` (anchor masks → a mask on every frame), with the classical CPU implementations.

A learned model (SAM 2.1, EdgeTAM, Cutie) plugs in by implementing these two protocols in the runtime
process; it is not shipped yet: see docs/flow_engine.md ("A learned tracker") for why ``sam2`` is not
installed and how its checkpoints would be loaded without pickle execution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

import numpy as np

from model_runtime.engines.flow.flow import ClipFlow
from model_runtime.engines.flow.track import track_masks
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


def segmenters() -> dict[str, Segmenter]:
    """The segmenters this runtime can run, by name."""
    return {"grabcut": GrabCutSegmenter()}


def trackers() -> dict[str, Tracker]:
    """The trackers this runtime can run, by name."""
    return {"flow": FlowTracker()}
