"""The one interface every engine implements (DESIGN.md §5).

An engine never talks to the socket. The server hands it a :class:`JobContext`; the engine reports
progress, announces finished frames and checks for cancellation through it. Cancellation is
cooperative: ``ctx.check_cancelled()`` raises :class:`JobCancelled`, which the server turns into the
job's single ``cancelled`` terminal event.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vivid_desktop.protocol.errors import JobError

if TYPE_CHECKING:
    import numpy as np

    from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest


class JobCancelled(Exception):
    """Raised from inside an engine when the job's cancel flag is set."""


#: A failure the user can act on; ``code`` is stable (it appears in ``failed`` events). The same class as
#: the shared layers raise (render folder, source frames), so the server reports theirs alike.
EngineError = JobError


class JobContext(Protocol):
    """What an engine may do while it runs a job."""

    def progress(
        self, done: float, total: float, message: str = "", preview: np.ndarray | None = None, unit: str = ""
    ) -> None:
        """Report progress; ``preview`` is a small RGB uint8 image (may be dropped or merged); ``unit`` says
        what ``done`` counts (``step``: denoising steps, each reported, never merged; ``stage``)."""

    def frame_ready(self, frame: int, path: Path, preview: np.ndarray | None = None) -> None:
        """A finished frame is on disk at ``path`` (written atomically)."""

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if the job was cancelled."""

    def log(self, message: str) -> None:
        """A line for the runtime log and the GUI's job log."""


@dataclass(frozen=True)
class EngineInfo:
    """What ``hello_reply`` says about an engine."""

    name: str
    available: bool
    reason: str = ""
    tasks: tuple[str, ...] = ("add", "modify", "delete")
    details: dict[str, object] = field(default_factory=dict)


class Engine(abc.ABC):
    """An editing engine. Implementations: ``flow`` (classical, CPU) and ``vivid`` (diffusion)."""

    name: str = ""

    @abc.abstractmethod
    def info(self) -> EngineInfo:
        """Cheap: must not import heavy libraries or load weights."""

    @abc.abstractmethod
    def edit_keyframe(self, request: EditKeyframeRequest, ctx: JobContext) -> Path:
        """Edit one frame; write the RGB result to ``request.output`` and return its path."""

    @abc.abstractmethod
    def propagate(self, plan: RenderPlan, ctx: JobContext) -> None:
        """Render every frame of ``[plan.start, plan.stop)`` into ``plan.output_dir``.

        Frames already present there are finished and must not be recomputed (resume).
        """

    def track_masks(self, request: TrackMasksRequest, ctx: JobContext) -> None:
        """Carry anchor masks through the range. Engines share the flow tracker by default."""
        from model_runtime.engines.flow import track_masks_job

        track_masks_job(request, ctx)
