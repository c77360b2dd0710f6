"""A test-only engine loaded into the real runtime with ``--engine testing=<this file>:TestingEngine``.

It writes tiny PNG frames and obeys ``settings``: ``delay_s`` per frame, ``crash_at`` (the process
exits hard before writing that frame), ``fail`` (an EngineError code), ``bug`` (a plain exception),
``ignore_cancel`` (never checks the flag), ``metrics`` (one ``metrics`` event per frame). It appends
the frames it computed to ``computed.txt`` in the output folder, so resume is visible.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from model_runtime.engines.base import Engine, EngineError, EngineInfo, JobContext
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest


def _write_png(path: Path, value: int) -> None:
    image = np.full((8, 8, 3), value % 256, np.uint8)
    tmp = path.with_name(f".{path.name}.tmp.png")
    cv2.imwrite(str(tmp), image)
    os.replace(tmp, path)


class TestingEngine(Engine):
    name = "testing"

    def info(self) -> EngineInfo:
        return EngineInfo(name="testing", available=True, details={"fake": True})

    def edit_keyframe(self, request: EditKeyframeRequest, ctx: JobContext) -> Path:
        self._obey(request.settings, request.frame)
        out = Path(request.output)
        _write_png(out, request.frame)
        return out

    def track_masks(self, request: TrackMasksRequest, ctx: JobContext) -> None:
        self._frames(request.output_dir, request.start, request.stop, {}, ctx)

    def propagate(self, plan: RenderPlan, ctx: JobContext) -> None:
        computed = self._frames(plan.output_dir, plan.start, plan.stop, plan.settings, ctx)
        (Path(plan.output_dir) / "computed.txt").open("a").write("".join(f"{n}\n" for n in computed))

    def _frames(self, folder: str, start: int, stop: int, settings: dict, ctx: JobContext) -> list[int]:
        computed = []
        for n in range(start, stop):
            path = Path(folder) / f"{n:06d}.png"
            if path.exists():
                continue  # resume: finished frames are never recomputed
            if not settings.get("ignore_cancel"):
                ctx.check_cancelled()
            self._obey(settings, n)
            _write_png(path, n)
            computed.append(n)
            preview = np.full((32, 48, 3), n % 256, np.uint8)
            ctx.progress(n - start + 1, stop - start, f"frame {n}", preview=preview)
            ctx.frame_ready(n, path, preview=preview)
            if settings.get("metrics"):
                ctx.metrics(n, {"loss": 1.0 / (n + 1)})  # type: ignore[attr-defined]
        return computed

    @staticmethod
    def _obey(settings: dict, frame: int) -> None:
        if settings.get("crash_at") == frame:
            os._exit(9)
        if settings.get("fail"):
            raise EngineError(str(settings["fail"]), "the testing engine was told to fail")
        if settings.get("bug"):
            raise ZeroDivisionError("a bug in an engine")
        time.sleep(float(settings.get("delay_s", 0.0)))
