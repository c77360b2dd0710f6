"""The Ray side of farm rendering (see :mod:`model_runtime.farm`): connect, ship inputs, run, collect.

It runs in the cluster driver process (``python -m model_runtime.farm``), or in any process that calls it.

Ray is imported only here, when a cluster render starts. A local cluster (``"local"``) is started once
per runtime process on 127.0.0.1 and kept for later renders; any other address is an existing cluster
(``ray://head:10001``, ``head:6379`` or ``auto``), which Ray authenticates with its own token.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from model_runtime.engines.base import EngineError, JobCancelled, JobContext
from model_runtime.farm.parts import frames_of, split_plan
from vivid_desktop.core.files import write_atomic
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.render_folder import frame_path, missing_frames

log = logging.getLogger(__name__)

#: times Ray re-runs a part whose worker died (a crash, a lost node); engine errors are not retried
RETRIES = 3
#: how often the driver looks at the job's cancel flag while it waits for frames
POLL_S = 0.25


def connect(address: str, num_cpus: int | None = None) -> Any:
    """Join (or, for ``"local"``, start) a Ray cluster once per process; return the ``ray`` module."""
    try:
        import ray
    except ImportError:
        raise EngineError(
            ErrorCode.CLUSTER_UNAVAILABLE,
            "rendering on a cluster needs Ray: pip install 'vivid-desktop[farm]'",
        ) from None
    if ray.is_initialized():
        return ray
    common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    try:
        if address == "local":
            ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", **common)
        else:
            ray.init(address=address, **common)
    except Exception as exc:  # an unreachable head, a refused token, a version mismatch: one line
        raise EngineError(
            ErrorCode.CLUSTER_UNAVAILABLE, f"cannot join the Ray cluster at {address}: {exc}"
        ) from exc
    return ray


def render_on_cluster(
    plans: list[RenderPlan], address: str, ctx: JobContext, num_cpus: int | None = None, preview: bool = True
) -> dict[str, int]:
    """Render every plan's parts as Ray tasks; write their frames into each plan's render folder.
    ``preview``: pass a decoded thumbnail with ``frame_ready`` (the driver process leaves that to the
    runtime)."""
    ray = connect(address, num_cpus)
    task = ray.remote(num_returns="streaming", max_retries=RETRIES, retry_exceptions=False)(_render_part)
    gpus = ray.cluster_resources().get("GPU", 0) > 0
    shipped: dict[str, Any] = {}
    running: dict[Any, tuple[RenderPlan, RenderPlan]] = {}
    total = done = sent = 0
    for plan in plans:
        out = Path(plan.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        for part in split_plan(plan):
            missing = missing_frames(out, part.start, part.stop)
            total += len(frames_of(part))
            done += len(frames_of(part)) - len(missing)
            if not missing:
                continue  # resume: a finished part is not sent again
            options = {"num_gpus": 1} if gpus and part.engine == "vivid" else {"num_cpus": 1}
            files = _ship(ray, part, shipped)
            running[task.options(**options).remote(part.model_dump_json(), files)] = (plan, part)
            sent += 1
    ctx.log(f"cluster render: {len(running)} parts on {address}")
    ctx.progress(done, total, f"{done}/{total} frames")
    try:
        while running:
            ctx.check_cancelled()
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
            for gen in ready:
                plan, part = running[gen]
                item = _next(ray, gen, part)
                if item is None:
                    del running[gen]
                    continue
                n, data = item
                path = frame_path(plan.output_dir, n)
                if not path.is_file():  # a retried part may deliver a frame again
                    write_atomic(path, data)
                    done += 1
                    ctx.frame_ready(n, path, _preview(data) if preview else None)
                    ctx.progress(done, total, f"{done}/{total} frames")
    except BaseException:
        for gen in running:
            ray.cancel(gen, force=True)
        raise
    return {"parts": sent, "frames": done}


def _next(ray: Any, gen: Any, part: RenderPlan) -> tuple[int, bytes] | None:
    try:
        ref = next(gen)
    except StopIteration:
        return None
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(getattr(exc, "cause", None), Exception) else exc
        if isinstance(cause, EngineError):
            raise EngineError(cause.code, f"frames {part.start}:{part.stop}: {cause.message}") from exc
        raise EngineError(
            ErrorCode.FARM_FAILED, f"frames {part.start}:{part.stop} failed on the cluster: {cause}"
        ) from exc
    except ray.exceptions.RayError as exc:  # retries used up (worker or node lost each time)
        raise EngineError(
            ErrorCode.FARM_FAILED, f"frames {part.start}:{part.stop} failed on the cluster: {exc}"
        ) from exc


def _preview(data: bytes) -> np.ndarray | None:
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else image[:, :, ::-1]


# --- inputs: every file a part reads travels through the object store, once per content -----------------


def _input_files(plan: RenderPlan) -> list[Path]:
    """The files a part reads (the model folder and LoRAs must exist on the workers: they are not sent)."""
    names = [plan.source, plan.mask, *(k.mask for k in plan.keyframes), *(k.image for k in plan.keyframes)]
    files = [Path(p) for p in names if p]
    if plan.mask_dir:
        files += sorted(Path(plan.mask_dir).glob("*.png"))
    return files


def _ship(ray: Any, plan: RenderPlan, shipped: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """``{path: (sha256, ref)}`` for every input of ``plan``; content already sent is not sent again."""
    files: dict[str, tuple[str, Any]] = {}
    for path in _input_files(plan):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest not in shipped:
            shipped[digest] = ray.put(data)
        files[str(path)] = (digest, shipped[digest])
    return files


# --- the task: runs on a Ray worker ----------------------------------------------------------------------


def _render_part(plan_json: str, files: dict[str, tuple[str, Any]]) -> Iterator[tuple[int, bytes]]:
    """Materialise the inputs in a private folder, run the engine, yield ``(frame, png bytes)`` as made."""
    import ray

    work = Path(tempfile.mkdtemp(prefix="vivid-farm-"))
    try:
        plan = _localised(RenderPlan.model_validate_json(plan_json), files, work, ray)
        yield from _run_engine(plan)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _localised(plan: RenderPlan, files: dict[str, tuple[str, Any]], work: Path, ray: Any) -> RenderPlan:
    """The plan with every input path pointing at a copy under ``work``."""
    where: dict[str, str] = {}
    for original, (digest, ref) in files.items():
        target = work / "in" / digest[:16] / Path(original).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(ray.get(ref))
        where[original] = str(target)
    masks = work / "masks"
    if plan.mask_dir:
        masks.mkdir()
        for original, local in where.items():
            if Path(original).parent == Path(plan.mask_dir):
                shutil.copyfile(local, masks / Path(original).name)
    keyframes = [
        k.model_copy(update={"mask": where[k.mask], "image": where.get(k.image) if k.image else None})
        for k in plan.keyframes
    ]
    settings = {k: v for k, v in plan.settings.items() if k != "cache_dir"}
    settings["cache_dir"] = str(work / "cache")
    return plan.model_copy(
        update={
            "source": where[plan.source],
            "mask": where[plan.mask] if plan.mask else None,
            "mask_dir": str(masks) if plan.mask_dir else None,
            "keyframes": keyframes,
            "settings": settings,
            "output_dir": str(work / "out"),
        }
    )


class _PartContext:
    """The engine's JobContext inside a task: finished frames go to a queue the task yields from."""

    def __init__(self, frames: queue.Queue) -> None:
        self.frames = frames

    def progress(
        self, done: float, total: float, message: str = "", preview: Any = None, unit: str = ""
    ) -> None:
        pass  # the driver counts delivered frames

    def frame_ready(self, frame: int, path: Path, preview: Any = None) -> None:
        self.frames.put((int(frame), Path(path)))

    def check_cancelled(self) -> None:
        pass  # the driver cancels a part by cancelling its Ray task

    def log(self, message: str) -> None:
        log.info("%s", message)


_DONE = object()


def _run_engine(plan: RenderPlan) -> Iterator[tuple[int, bytes]]:
    from model_runtime.engines import get_engine

    frames: queue.Queue = queue.Queue()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            Path(plan.output_dir).mkdir(parents=True, exist_ok=True)
            get_engine(plan.engine).propagate(plan, _PartContext(frames))
        except BaseException as exc:  # handed to the task's own thread below
            failure.append(exc)
        finally:
            frames.put(_DONE)

    thread = threading.Thread(target=work, name="vivid-farm-part", daemon=True)
    thread.start()
    while (item := frames.get()) is not _DONE:
        n, path = item
        yield n, path.read_bytes()
    thread.join()
    if failure:
        if isinstance(failure[0], JobCancelled):
            return
        raise failure[0]
