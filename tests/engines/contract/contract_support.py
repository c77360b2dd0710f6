"""The engine contract's subjects and job runner: every engine runs the same plans on the same tiny clip.

Jobs run through the runtime's real job queue and runners, so the events a test sees are the events the
editor would get.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from model_runtime.server.runners import RUNNERS
from model_runtime.server.worker import Job, JobQueue
from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.protocol.messages import Cancelled, Failed, FrameReady, Progress, Succeeded

FRAMES, WIDTH, HEIGHT = 17, 48, 32
TERMINAL = (Succeeded, Failed, Cancelled)


@dataclass(frozen=True)
class Clip:
    path: Path
    masks: Path
    frames: list[np.ndarray]
    mask_arrays: list[np.ndarray]


@dataclass
class Subject:
    """One engine under the contract: ``plan()`` builds a delete plan over the whole tiny clip."""

    engine: str
    settings: dict[str, object]
    clip: Clip

    def plan(self, out_dir: Path, **fields: object) -> RenderPlan:
        base: dict[str, object] = {
            "source": str(self.clip.path),
            "start": 0,
            "stop": FRAMES,
            "mask_dir": str(self.clip.masks),
            "task": "delete",
            "engine": self.engine,
            "seed": 5,
            "settings": self.settings,
            "output_dir": str(out_dir),
            "feather": 2,
        }
        return RenderPlan(**{**base, **fields})  # type: ignore[arg-type]


@dataclass
class Run:
    """Everything one job emitted, in order."""

    events: list[BaseModel] = field(default_factory=list)

    @property
    def terminals(self) -> list[BaseModel]:
        return [e for e in self.events if isinstance(e, TERMINAL)]

    @property
    def frames(self) -> list[int]:
        return [e.frame for e in self.events if isinstance(e, FrameReady)]

    @property
    def units(self) -> list[Progress]:
        """Progress events that count something (``unit``: a preview's steps or stages)."""
        return [e for e in self.events if isinstance(e, Progress) and e.unit]


def run_job(
    kind: str,
    request: BaseModel,
    cancel_after_frames: int | None = None,
    timeout: float = 240,
    cancel_after_units: int | None = None,
) -> Run:
    """Run one job on the runtime's job queue; cancel it once that many frames were announced (or that
    many counted progress units, ``progress.unit`` set, were reported)."""
    run = Run()
    ended = threading.Event()

    def emit(content: BaseModel, job: Job, buffers, merge_key, strippable) -> None:
        if isinstance(content, FrameReady):
            assert Path(content.path).is_file(), "frame_ready comes after the file is whole on disk"
        run.events.append(content)
        if cancel_after_frames is not None and len(run.frames) >= cancel_after_frames:
            job.cancel.set()
        if cancel_after_units is not None and len(run.units) >= cancel_after_units:
            job.cancel.set()
        if isinstance(content, TERMINAL):
            ended.set()

    queue = JobQueue(emit, RUNNERS)
    queue.start()
    queue.submit(Job("job-1", kind, request, "msg-1"))
    try:
        assert ended.wait(timeout), f"no terminal event within {timeout} s"
    finally:
        assert queue.stop(60)  # joined: nothing more can be emitted after this
    return run
