"""The cluster driver process: reads a ``RenderBatch`` (JSON) on stdin, renders it on its cluster and
writes one JSON event per line on stdout (``frame``, ``progress``, ``log``, ``error``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TextIO

from model_runtime.engines.base import EngineError
from vivid_desktop.protocol.jobs import RenderBatch


class _PipeContext:
    """The driver's JobContext: every event becomes a line for the runtime."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def _send(self, **event: object) -> None:
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()

    def progress(
        self, done: float, total: float, message: str = "", preview: object = None, unit: str = ""
    ) -> None:
        self._send(event="progress", done=done, total=total, message=message)

    def frame_ready(self, frame: int, path: Path, preview: object = None) -> None:
        self._send(event="frame", frame=int(frame), path=str(path))

    def check_cancelled(self) -> None:
        pass  # the runtime cancels by ending this process

    def log(self, message: str) -> None:
        self._send(event="log", message=message)


def main() -> int:
    # Events get the real stdout; anything else that prints (Ray, libraries) goes to stderr, the log.
    events = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    ctx = _PipeContext(events)
    from model_runtime.farm.ray_cluster import render_on_cluster

    try:
        batch = RenderBatch.model_validate_json(sys.stdin.read())
        render_on_cluster(list(batch.plans), batch.cluster or "local", ctx, preview=False)
    except EngineError as exc:
        ctx._send(event="error", code=exc.code, message=exc.message)
    except KeyboardInterrupt:  # the runtime cancels with an interrupt; Ray shuts down at exit
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
