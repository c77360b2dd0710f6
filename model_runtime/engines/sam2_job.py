"""Which tracker a ``track_masks`` job uses, and the job on SAM 2.1.

``TrackMasksRequest.settings`` may name the tracker: ``{"tracker": "sam2", "sam2_model": FOLDER,
"device": "auto"}``; without ``tracker`` (or with ``"flow"``) the engine's own tracker runs, as before.
The check is cheap (JSON files only) so that a wrong folder is refused in the request's reply, before
the job is queued. The job writes ``{frame:06d}.png`` like the flow tracker's, frames already there are
kept (resume), and every model step reports progress and notices a cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_runtime.engines.base import EngineError, JobContext
from model_runtime.engines.flow.render import Progress
from model_runtime.engines.sam2_folder import check_mask_folder
from vivid_desktop.media.clip_frames import ClipFrames
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import TrackMasksRequest
from vivid_desktop.render_folder import frame_path, missing_frames, read_mask, remove_stale_temps

TRACKERS = ("flow", "sam2")


@dataclass(frozen=True)
class TrackerChoice:
    """The tracker a request asks for."""

    name: str = "flow"
    sam2_model: str | None = None
    device: str = "auto"

    @classmethod
    def of(cls, settings: dict[str, Any]) -> TrackerChoice:
        """Read and check the request's settings; one-line :class:`EngineError` when they are wrong."""
        name = str(settings.get("tracker") or "flow")
        if name not in TRACKERS:
            raise EngineError(
                ErrorCode.BAD_SETTINGS, f"no tracker called {name!r} (known: {', '.join(TRACKERS)})"
            )
        if name == "flow":
            return cls()
        folder = settings.get("sam2_model")
        if not folder:
            raise EngineError(
                ErrorCode.NO_MODEL, "the sam2 tracker needs a SAM 2 model folder (settings 'sam2_model')"
            )
        checked = check_mask_folder(str(folder))
        return cls(name, str(checked.path), str(settings.get("device") or "auto"))


def track_masks_job(request: TrackMasksRequest, choice: TrackerChoice, ctx: JobContext) -> None:
    """Carry the request's anchors through its range with SAM 2 into ``{frame:06d}.png`` files."""
    from model_runtime.engines.sam2_model import load_sam2
    from model_runtime.engines.sam2_track import count_steps, track_masks_sam2

    assert choice.sam2_model is not None
    out_dir = Path(request.output_dir)
    with ClipFrames(request.source) as frames:
        lo, hi = frames.clip_range(request.start, request.stop)
        anchors = {a.frame: read_mask(a.mask, frames.shape) for a in request.anchors if lo <= a.frame < hi}
        if not anchors:
            raise EngineError(ErrorCode.NO_ANCHOR, f"No anchor mask lies inside the range {lo}:{hi}.")
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(out_dir)
        todo = set(missing_frames(out_dir, lo, hi))
        if not todo:
            ctx.progress(1, 1, "every mask is already tracked")
            return
        sam = load_sam2(choice.sam2_model, choice.device)
        ctx.log(f"SAM 2 tracker ({sam.folder.path.name}, {sam.device}): {len(todo)} of {hi - lo} frames")
        needed = todo.__contains__
        progress = Progress(ctx, count_steps(sorted(anchors), lo, hi, needed) + len(todo))
        tracked = track_masks_sam2(
            sam, frames, anchors, lo, hi, needed, lambda: progress.step("tracking with SAM 2")
        )
        with progress.writer() as writer:
            for t, mask in tracked:
                writer.put(t, frame_path(out_dir, t), mask)
