"""``python -m model_runtime.training REQUEST.json``: one training run as a process of its own.

What ``vivid train`` starts, alone or under ``accelerate launch`` (one process per GPU, data parallel;
docs/training.md). ``REQUEST.json`` is a :class:`~vivid_desktop.protocol.jobs.TrainRequest`. The main
process prints one JSON object per line on stdout: ``{"event": "progress" | "metrics" | "validation" |
"log", ...}`` and ends with exactly one of ``succeeded`` (exit 0), ``failed`` (exit 1) or ``cancelled``
(exit 130). SIGINT/SIGTERM stop the run after the current step, with a checkpoint to resume from.
Preset settings the file leaves out follow the machine (:mod:`.machine`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from model_runtime.engines.base import EngineError, JobCancelled
from model_runtime.training.datasets import check_dataset
from model_runtime.training.machine import gpu_memory_gib, needs_machine, with_machine_defaults
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import TrainRequest


class StreamContext:
    """A :class:`~model_runtime.engines.base.JobContext` that writes JSON lines (main process only)."""

    def __init__(self, out: Any, quiet: bool = False) -> None:
        self._out = out
        self._quiet = quiet
        self.stop = threading.Event()

    def emit(self, event: str, **fields: Any) -> None:
        if not self._quiet:
            self._out.write(json.dumps({"event": event, **fields}) + "\n")
            self._out.flush()

    def progress(
        self, done: float, total: float, message: str = "", preview: Any = None, unit: str = ""
    ) -> None:
        self.emit("progress", done=done, total=total, message=message)

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self.emit("metrics", step=step, **values)

    def frame_ready(self, frame: int, path: Path, preview: Any = None) -> None:
        self.emit("validation", step=frame, path=str(path))

    def check_cancelled(self) -> None:
        if self.stop.is_set():
            raise JobCancelled("stopped")

    def log(self, message: str) -> None:
        self.emit("log", message=str(message))


def read_request(path: Path, ctx: StreamContext) -> TrainRequest:
    """The request, with the machine's preset for the preset settings it leaves out."""
    raw = json.loads(path.read_text())
    if isinstance(raw, dict) and needs_machine(raw):
        raw, preset, filled = with_machine_defaults(raw, gpu_memory_gib())
        ctx.log(f"settings for this machine: the {preset.name} preset's {', '.join(filled)}")
    return TrainRequest.model_validate(raw)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m model_runtime.training REQUEST.json", file=sys.stderr)
        return 2
    # Check the dataset before the model loads: a broken one is refused in seconds, not after loading
    # (torch comes first only when the machine's preset is needed, to see the GPU).
    ctx = StreamContext(sys.stdout, quiet=os.environ.get("RANK", "0") != "0")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: ctx.stop.set())
    try:
        request = read_request(Path(args[0]), ctx)
        check_dataset(request.data, request.num_frames)
    except EngineError as exc:
        ctx.emit("failed", code=exc.code, message=exc.message)
        return 1
    except (OSError, ValueError) as exc:
        ctx.emit("failed", code=ErrorCode.BAD_REQUEST, message=f"{type(exc).__name__}: {exc}")
        return 1
    from model_runtime.training.distributed import join_world, leave_world
    from model_runtime.training.loop import Trainer

    world = join_world()
    try:
        result = Trainer(request, ctx, world).run()
        ctx.emit("succeeded", lora=str(result.lora), steps=result.steps, final_loss=result.final_loss)
        return 0
    except JobCancelled:
        ctx.emit("cancelled", message="training stopped; run again to resume from the last checkpoint")
        return 130
    except EngineError as exc:
        ctx.emit("failed", code=exc.code, message=exc.message)
        return 1
    except (OSError, ValueError) as exc:
        ctx.emit("failed", code=ErrorCode.INTERNAL_ERROR, message=f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        leave_world(world)


if __name__ == "__main__":
    sys.exit(main())
