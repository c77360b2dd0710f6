"""``FlowEngine``: the classical CPU engine (DESIGN.md §5), always available, deterministic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from model_runtime.engines.base import Engine, EngineInfo, JobContext

if TYPE_CHECKING:
    from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest


class FlowEngine(Engine):
    """Dense optical flow (OpenCV DIS): deletion by temporal fill, keyframe propagation, mask tracking.

    The work lives in :mod:`model_runtime.engines.flow.jobs`, imported on first use so that listing the
    engines stays cheap.
    """

    name = "flow"

    def info(self) -> EngineInfo:
        return EngineInfo(
            name=self.name,
            available=True,
            tasks=("add", "modify", "delete"),
            details={
                "device": "cpu",
                "deterministic": True,
                "flow": "OpenCV DIS",
                "edit_keyframe_tasks": ["delete"],
                "add_modify": "needs an edited keyframe image",
            },
        )

    def edit_keyframe(self, request: EditKeyframeRequest, ctx: JobContext) -> Path:
        from model_runtime.engines.flow import jobs

        return jobs.edit_keyframe(request, ctx)

    def propagate(self, plan: RenderPlan, ctx: JobContext) -> None:
        from model_runtime.engines.flow import jobs

        jobs.propagate(plan, ctx)

    def track_masks(self, request: TrackMasksRequest, ctx: JobContext) -> None:
        from model_runtime.engines.flow import jobs

        jobs.track_masks_job(request, ctx)
