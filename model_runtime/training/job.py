"""The runtime's ``train`` job: check a :class:`TrainRequest` up front, then run the trainer.

Light to import (no torch until the job runs), so the server can register it at start-up::

    register_runner("train", run_train, check_train)          # model_runtime/server/runners.py

Events while it runs (through the server's JobContext): ``progress`` per step ("step 12/1000 · loss
0.1234") and while the cache fills; ``metrics(step, {"loss", "lr"})`` where the context offers it;
``frame_ready(frame=step, path=validation PNG, preview)`` for each validation render; ``log`` lines. The
result: ``{"lora", "steps", "final_loss", "log", "resumed_from"}``. A broken dataset fails with code
``dataset_invalid`` and a message listing every problem. Cancel stops after the current step and leaves a
checkpoint, so the same request resumes where it stopped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from model_runtime.engines.base import EngineError, JobContext
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import TrainRequest


def check_train(request: Any) -> None:
    """Refuse a request that cannot start (before it is queued): missing data or model, bad output name."""
    assert isinstance(request, TrainRequest)
    if not os.path.exists(request.data):
        raise EngineError(ErrorCode.FILE_NOT_FOUND, f"training data not found: {request.data}")
    if not os.path.isdir(request.model):
        raise EngineError(ErrorCode.MODEL_NOT_FOUND, f"model folder not found: {request.model}")
    if not request.output.endswith(".safetensors"):
        raise EngineError(ErrorCode.BAD_REQUEST, f"the LoRA file must end in .safetensors: {request.output}")
    if (request.num_frames - 1) % 4:
        raise EngineError(
            ErrorCode.BAD_SETTINGS, f"num_frames must be 4k+1 (e.g. 49), not {request.num_frames}"
        )
    parent = Path(request.output).parent
    if parent.exists() and not os.access(parent, os.W_OK):
        raise EngineError(ErrorCode.NOT_WRITABLE, f"cannot write into {parent}")


def run_train(request: Any, ctx: JobContext) -> dict[str, Any]:
    """Run one training job to the end (or to a cancel, which raises JobCancelled after checkpointing)."""
    assert isinstance(request, TrainRequest)
    check_train(request)
    from model_runtime.training.loop import Trainer

    result = Trainer(request, ctx).run()
    return {
        "lora": str(result.lora),
        "steps": result.steps,
        "final_loss": result.final_loss,
        "log": str(result.log),
        "resumed_from": result.resumed_from,
    }
