"""The classical flow engine: optical flow, mask tracking, deletion fill, keyframe propagation.

``FlowEngine`` is what the server instantiates; ``track_masks_job`` is the mask tracker every engine
shares (see :meth:`model_runtime.engines.base.Engine.track_masks`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from model_runtime.engines.flow.engine import FlowEngine

if TYPE_CHECKING:
    from model_runtime.engines.base import JobContext
    from vivid_desktop.protocol.jobs import TrackMasksRequest

__all__ = ["FlowEngine", "track_masks_job"]


def track_masks_job(request: TrackMasksRequest, ctx: JobContext) -> None:
    """Carry ``request.anchors`` through ``[start, stop)`` into ``{frame:06d}.png`` masks."""
    from model_runtime.engines.flow import jobs

    jobs.track_masks_job(request, ctx)
