"""Farm rendering: a render's independent parts as Ray tasks on a local or remote cluster.

The runtime hands a cluster render to a driver process of its own (``python -m model_runtime.farm``), so
that Ray's start-up and its threads never stall the runtime's heartbeat, and a Ray failure cannot take the
runtime down. The driver (:mod:`model_runtime.farm.ray_cluster`) splits each plan
(:mod:`model_runtime.farm.parts`), ships each part's inputs through Ray's object store (content-addressed,
so a clip used by several parts travels once), runs every part as a streaming task that yields its
finished frames losslessly (PNG bytes) as they come, and writes them into the plan's render folder
atomically — the same files a local render writes. It reports each frame on a pipe; the runtime turns
that into ``frame_ready``. A task whose worker dies is retried by Ray (``max_retries``); frames it had
already delivered are not written twice. Parts whose frames are all on disk are not sent again (resume).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from model_runtime.engines.base import EngineError, JobContext
from model_runtime.farm.parts import split_plan
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import RenderBatch, RenderPlan

__all__ = ["render_on_cluster", "split_plan"]

#: how often the runtime looks at the job's cancel flag while the driver runs
POLL_S = 0.25


#: times the driver process is started again when it dies by a signal (Ray aborts its process on some
#: internal failures, e.g. a local cluster that cannot start in time on a starved machine); each run
#: resumes from the frames already on disk
DRIVER_RESTARTS = 2


def render_on_cluster(plans: list[RenderPlan], address: str, ctx: JobContext) -> None:
    """Render ``plans`` on the Ray cluster at ``address`` (``"local"``: start one on this machine)."""
    request = RenderBatch(plans=plans, cluster=address).model_dump_json()
    for attempt in range(DRIVER_RESTARTS + 1):
        status = _drive(request, ctx)
        if status == 0:
            return
        if status > 0 or attempt == DRIVER_RESTARTS:
            break
        ctx.log(f"the cluster driver died (signal {-status}); starting it again, finished frames are kept")
    raise EngineError(ErrorCode.FARM_FAILED, f"the cluster driver stopped (exit status {status})")


def _drive(request: str, ctx: JobContext) -> int:
    """Run one driver process to its end, relaying its events; its exit status."""
    driver = subprocess.Popen(
        [sys.executable, "-m", "model_runtime.farm"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert driver.stdin is not None and driver.stdout is not None
    driver.stdin.write(request)
    driver.stdin.close()
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(driver.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    seen = 0
    try:
        while reader.is_alive() or seen < len(lines):
            ctx.check_cancelled()
            reader.join(POLL_S)
            while seen < len(lines):
                _relay(json.loads(lines[seen]), ctx)
                seen += 1
    finally:
        if driver.poll() is None:
            _stop(driver)
    return driver.returncode


def _stop(driver: subprocess.Popen) -> None:
    """Cancel: an interrupt first, so the driver cancels its tasks and Ray shuts down what it started at
    the driver's exit (checked: no raylet, GCS or worker left after a cancel); then terminate, then kill."""
    for send, wait in (
        (lambda: driver.send_signal(signal.SIGINT), 15),
        (driver.terminate, 5),
        (driver.kill, 5),
    ):
        send()
        try:
            driver.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _relay(event: dict, ctx: JobContext) -> None:
    kind = event.get("event")
    if kind == "frame":
        ctx.frame_ready(int(event["frame"]), Path(event["path"]), _preview(Path(event["path"])))
    elif kind == "progress":
        ctx.progress(event["done"], event["total"], event.get("message", ""))
    elif kind == "log":
        ctx.log(str(event["message"]))
    elif kind == "error":
        raise EngineError(str(event["code"]), str(event["message"]))


def _preview(path: Path):
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else image[:, :, ::-1]
