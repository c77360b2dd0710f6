"""How each job kind runs: checks the request's files up front, then calls the engine.

A request that names a missing file is refused in its ``*_reply`` (before it is queued); anything an
engine raises later becomes the job's ``failed`` event. New kinds (``train``) register a runner with
:func:`register_runner`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from model_runtime.engines import get_engine
from model_runtime.engines.base import EngineError
from model_runtime.server.worker import Runner, ServerJobContext
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderBatch, RenderPlan, TrackMasksRequest
from vivid_desktop.render_folder import done_frames

log = logging.getLogger(__name__)

#: kind → function that checks a request before it is queued (raises EngineError)
Check = Callable[[BaseModel], None]

RUNNERS: dict[str, Runner] = {}
CHECKS: dict[str, Check] = {}


def register_runner(kind: str, runner: Runner, check: Check | None = None) -> None:
    """Add a job kind's runner and its up-front check."""
    RUNNERS[kind] = runner
    if check is not None:
        CHECKS[kind] = check


def check_request(kind: str, request: BaseModel) -> None:
    """Raise :class:`EngineError` if the request cannot run (e.g. a file it names is missing)."""
    check = CHECKS.get(kind)
    if check is not None:
        check(request)


def _need_file(path: str | None, code: ErrorCode, what: str) -> None:
    """``code``: the engines' code for the same missing file (``source_missing``, ``mask_missing`` …)."""
    if path is not None and not os.path.isfile(path):
        raise EngineError(code, f"{what} not found: {path}")


def _need_dir(path: str | None, code: ErrorCode, what: str) -> None:
    if path is not None and not os.path.isdir(path):
        raise EngineError(code, f"{what} not found: {path}")


def _need_engine(name: str) -> None:
    info = get_engine(name).info()  # raises unknown_engine / engine_unavailable
    if not info.available:
        raise EngineError(ErrorCode.ENGINE_UNAVAILABLE, f"engine {name!r} is not available: {info.reason}")


def _check_keyframes(keyframes: list[Any]) -> None:
    for key in keyframes:
        _need_file(key.mask, ErrorCode.MASK_MISSING, f"mask of keyframe {key.frame}")
        _need_file(key.image, ErrorCode.IMAGE_MISSING, f"image of keyframe {key.frame}")


def _check_edit(request: BaseModel) -> None:
    assert isinstance(request, EditKeyframeRequest)
    _need_engine(request.engine)
    _need_file(request.source, ErrorCode.SOURCE_MISSING, "source clip")
    _need_file(request.mask, ErrorCode.MASK_MISSING, "mask")


def _check_track(request: BaseModel) -> None:
    assert isinstance(request, TrackMasksRequest)
    _need_file(request.source, ErrorCode.SOURCE_MISSING, "source clip")
    if request.stop <= request.start:
        raise EngineError(ErrorCode.EMPTY_RANGE, f"empty frame range {request.start}:{request.stop}")
    if not request.anchors:
        raise EngineError(ErrorCode.NO_ANCHOR, "track_masks needs at least one anchor mask")
    _check_keyframes(request.anchors)
    from model_runtime.engines.sam2_job import TrackerChoice

    TrackerChoice.of(request.settings)  # a wrong tracker or model folder is refused before queueing


def _check_propagate(plan: BaseModel) -> None:
    assert isinstance(plan, RenderPlan)
    _need_engine(plan.engine)
    _need_file(plan.source, ErrorCode.SOURCE_MISSING, "source clip")
    if plan.stop <= plan.start:
        raise EngineError(ErrorCode.EMPTY_RANGE, f"empty frame range {plan.start}:{plan.stop}")
    if plan.mask_dir is None and plan.mask is None:
        raise EngineError(ErrorCode.MASK_MISSING, "the plan names no mask (mask or mask_dir)")
    _need_dir(plan.mask_dir, ErrorCode.MASK_MISSING, "mask folder")
    _need_file(plan.mask, ErrorCode.MASK_MISSING, "mask")
    _check_keyframes(plan.keyframes)


def _run_edit(request: BaseModel, ctx: ServerJobContext) -> dict[str, Any]:
    assert isinstance(request, EditKeyframeRequest)
    Path(request.output).parent.mkdir(parents=True, exist_ok=True)
    path = get_engine(request.engine).edit_keyframe(request, ctx)
    return {"output": str(path), "frame": request.frame}


def _run_track(request: BaseModel, ctx: ServerJobContext) -> dict[str, Any]:
    assert isinstance(request, TrackMasksRequest)
    Path(request.output_dir).mkdir(parents=True, exist_ok=True)
    from model_runtime.engines.sam2_job import TrackerChoice, track_masks_job

    choice = TrackerChoice.of(request.settings)
    if choice.name == "sam2":
        track_masks_job(request, choice, ctx)
    else:
        engine = str(getattr(request, "engine", "flow") or "flow")
        get_engine(engine).track_masks(request, ctx)
    return {"output_dir": request.output_dir, **_count(request.output_dir, request.start, request.stop)}


def _check_batch(batch: BaseModel) -> None:
    assert isinstance(batch, RenderBatch)
    folders = [p.output_dir for p in batch.plans]
    if len(set(folders)) != len(folders):
        raise EngineError(ErrorCode.BAD_REQUEST, "two renders of the batch share one output folder")
    for plan in batch.plans:
        _check_propagate(plan)


def _run_propagate(plan: BaseModel, ctx: ServerJobContext) -> dict[str, Any]:
    assert isinstance(plan, RenderPlan)
    out = Path(plan.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if plan.cluster:
        from model_runtime.farm import render_on_cluster

        render_on_cluster([plan], plan.cluster, ctx)
    else:
        get_engine(plan.engine).propagate(plan, ctx)
    return {"output_dir": plan.output_dir, **_complete(plan)}


def _run_batch(batch: BaseModel, ctx: ServerJobContext) -> dict[str, Any]:
    """Every render of the batch: side by side on a cluster, one after another here."""
    assert isinstance(batch, RenderBatch)
    if batch.cluster:
        from model_runtime.farm import render_on_cluster

        render_on_cluster(list(batch.plans), batch.cluster, ctx)
    else:
        for plan in batch.plans:
            Path(plan.output_dir).mkdir(parents=True, exist_ok=True)
            get_engine(plan.engine).propagate(plan, ctx)
    counts = [_complete(plan) for plan in batch.plans]
    return {"renders": len(counts), "frames": sum(c["frames"] for c in counts)}


def _complete(plan: RenderPlan) -> dict[str, int]:
    counts = _count(plan.output_dir, plan.start, plan.stop)
    if counts["missing"]:
        raise EngineError(
            ErrorCode.INCOMPLETE, f"{counts['missing']} frames of {plan.start}:{plan.stop} are missing"
        )
    return counts


def _count(folder: str, start: int, stop: int) -> dict[str, int]:
    present = len(done_frames(folder, start, stop))
    return {"frames": present, "missing": (stop - start) - present}


def _register_train() -> None:
    """The trainer's job (light to import: torch comes when it runs); a broken trainer costs only it."""
    try:
        from model_runtime.training.job import check_train, run_train
    except Exception as exc:
        log.warning("the train job is unavailable: %s: %s", type(exc).__name__, exc)
        return
    register_runner("train", run_train, check_train)


register_runner("edit_keyframe", _run_edit, _check_edit)
register_runner("track_masks", _run_track, _check_track)
register_runner("propagate", _run_propagate, _check_propagate)
register_runner("render_batch", _run_batch, _check_batch)
_register_train()
