"""One training run as the trainer tab sees it: the ``train`` job, its loss curve, renders and checkpoints.

The runtime trains (DESIGN.md §6); this controller submits the :class:`TrainRequest`, relays the job's
events, and reads what the trainer leaves in its work folder (docs/training.md):

- ``<work>/loss.jsonl``: one JSON object per step (``step``, ``loss``, ``lr``), and ``val_loss`` records
  (``step``, ``val_loss``) every N steps. It is the source of the plot: complete (no event is ever merged
  away), and after a resume it still holds the steps before it;
- ``<work>/checkpoints/step-NNNNNN/`` (``state.json`` has the step's loss);
- ``<work>/validation/step-NNNNNN/*.png``: the validation renders, also announced by ``frame_ready``.

File reads run on one worker thread; the controller emits the results on the UI thread. A refused run
(``dataset_invalid``) reports its problems by sample name so the table can flag them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from vivid_desktop.datasets import problems_from_failure
from vivid_desktop.protocol.jobs import TrainRequest
from vivid_desktop.qt.runtime_bridge import QtJob, QtRuntime
from vivid_desktop.qt.workers import MainThreadRelay, WorkerPool

GALLERY_LINES = 100


@dataclass(frozen=True)
class LossPoint:
    step: int
    loss: float
    lr: float


@dataclass(frozen=True)
class ValLossPoint:
    """The validation loss after ``step`` steps (step 0: the model before training)."""

    step: int
    val_loss: float


#: what the loss log holds, in file order (a step's val_loss follows its loss)
LogPoint = LossPoint | ValLossPoint


def _order(point: LogPoint) -> tuple[int, int]:
    return (point.step, 1 if isinstance(point, ValLossPoint) else 0)


def parse_log_line(line: bytes | str) -> LogPoint | None:
    """One loss-log line as a point; None for anything else (a partial or foreign line)."""
    try:
        entry = json.loads(line)
        if "val_loss" in entry:
            return ValLossPoint(int(entry["step"]), float(entry["val_loss"]))
        return LossPoint(int(entry["step"]), float(entry["loss"]), float(entry.get("lr", 0.0)))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class CheckpointInfo:
    step: int
    path: Path
    loss: float | None


def work_dir_of(request: TrainRequest) -> Path:
    """Where the trainer keeps checkpoints, cache, log and renders (the request's default)."""
    return Path(request.work_dir or request.output + ".work")


def loss_log_of(request: TrainRequest) -> Path:
    return Path(request.log) if request.log else work_dir_of(request) / "loss.jsonl"


class LossTail:
    """Reads the lines added to the loss log since the last call; notices a rewritten log.

    A resumed run first cuts the log back to its checkpoint's step, so a shorter file, or a point that
    does not follow the last one read, means: start over from the top (``reset`` is True). A step's
    ``val_loss`` record follows its loss record (and step 0's comes first).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.last: tuple[int, int] = (-1, 1)
        self._partial = b""

    def read(self) -> tuple[bool, list[LogPoint]]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return False, []
        reset = size < self.offset
        if reset:
            self._restart()
        points = self._read_new()
        if points and _order(points[0]) <= self.last and not reset:
            self._restart()
            return True, self.read()[1]
        if points:
            self.last = _order(points[-1])
        return reset, points

    def _restart(self) -> None:
        self.offset, self.last, self._partial = 0, (-1, 1), b""

    def _read_new(self) -> list[LogPoint]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # an unfinished last line is read again next time
        return [p for p in map(parse_log_line, lines) if p is not None]


def list_checkpoints(work: Path) -> list[CheckpointInfo]:
    """Complete checkpoints in ``work``, oldest first, with the loss of their step."""
    folder = work / "checkpoints"
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_dir() and path.name.startswith("step-") and path.name[5:].isdigit():
                loss = None
                with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                    loss = float(json.loads((path / "state.json").read_text())["metrics"]["loss"])
                found.append(CheckpointInfo(int(path.name[5:]), path, loss))
    return sorted(found, key=lambda c: c.step)


def list_renders(work: Path) -> list[tuple[int, Path]]:
    """Validation renders on disk: ``(step, png)``, by step."""
    folder = work / "validation"
    out = []
    if folder.is_dir():
        for step_dir in folder.glob("step-*"):
            if step_dir.name[5:].isdigit():
                out += [(int(step_dir.name[5:]), png) for png in sorted(step_dir.glob("*.png"))]
    return sorted(out, key=lambda item: (item[0], item[1].name))


def load_thumbnail(path: Path, lines: int = GALLERY_LINES) -> QImage:
    """A render scaled to ``lines`` high, up or down (QImage may be used off the UI thread)."""
    image = QImage(str(path))
    if image.isNull() or image.height() == lines:
        return image
    # small renders (test models, low resolutions) are blown up with hard pixels rather than blurred
    mode = (
        Qt.TransformationMode.FastTransformation
        if image.height() * 2 <= lines
        else Qt.TransformationMode.SmoothTransformation
    )
    return image.scaledToHeight(lines, mode)


def clear_run(work: Path, log: Path) -> None:
    """Forget an earlier run in ``work``: its checkpoints, renders and loss log (the cache stays)."""
    for sub in ("checkpoints", "validation"):
        shutil.rmtree(work / sub, ignore_errors=True)
    log.unlink(missing_ok=True)


class TrainerController(QObject):
    """Starts, stops and resumes the ``train`` job and turns what it produces into signals.

    States: ``idle``, ``running``, ``stopping``, ``finished``, ``stopped``, ``failed``.
    """

    stateChanged = Signal(str, str)  # state, a line for the status label
    progressChanged = Signal(int, int)  # step, total steps
    lossReset = Signal()
    lossAdded = Signal(object)  # list[LossPoint | ValLossPoint]
    validationAdded = Signal(int, str, QImage)  # step, png path, thumbnail
    checkpointsChanged = Signal(object)  # list[CheckpointInfo]
    loraChanged = Signal(str)  # the finished LoRA file ("" = none yet)
    problemsReported = Signal(object)  # list[(sample name, message)] of a refused dataset

    def __init__(self, runtime: QtRuntime, relay: MainThreadRelay, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.state = "idle"
        self.request: TrainRequest | None = None
        self.job: QtJob | None = None
        self.points: list[LogPoint] = []
        self.checkpoints: list[CheckpointInfo] = []
        self.lora = ""
        self._pool = WorkerPool(relay, max_workers=1, name="vivid-trainer")
        self._tail: LossTail | None = None
        self._seen_renders: set[str] = set()
        self._reading = False
        self._read_again = False
        self._full_again = False

    # ---- intents --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state in ("running", "stopping")

    def can_resume(self) -> bool:
        return not self.running and bool(self.checkpoints)

    def show_run(self, request: TrainRequest) -> None:
        """Show what an earlier run with this output left behind (curve, renders, checkpoints, LoRA)."""
        if self.running:
            return
        self._watch(request)
        self._refresh(full=True)

    def start(self, request: TrainRequest, resume: bool) -> None:
        """Train: from the newest checkpoint (``resume``) or from step 0 (an earlier run is cleared)."""
        if self.running:
            return
        request = request.model_copy(update={"resume": resume, "work_dir": str(work_dir_of(request)),
                                             "log": str(loss_log_of(request))})  # fmt: skip
        self._watch(request)
        self._set_state("running", "Resuming …" if resume else "Starting …")
        if resume:
            self._submit(request)
        else:
            work, log = work_dir_of(request), loss_log_of(request)
            self._pool.run(clear_run, work, log, on_result=lambda _r: self._submit(request),
                           on_error=lambda exc: self._set_state("failed", str(exc)))  # fmt: skip

    def stop(self) -> None:
        """Stop after the current step; the trainer saves a checkpoint to resume from."""
        if self.state != "running":
            return
        if self.job is None:  # still clearing the earlier run: the job is never submitted
            self._set_state("stopped", "Stopped before the first step.")
            return
        self._set_state("stopping", "Stopping after this step …")
        self.job.cancel()

    def shutdown(self) -> None:
        """Stop a running job and join the worker (call before the window closes)."""
        if self.job is not None and not self.job.done:
            self.job.cancel()
        self._pool.shutdown()

    # ---- the job --------------------------------------------------------------------------------
    def _watch(self, request: TrainRequest) -> None:
        self.request = request
        self._tail = LossTail(loss_log_of(request))
        self._seen_renders.clear()
        self.points = []
        self.lossReset.emit()
        self.lora = ""
        self.loraChanged.emit("")

    def _submit(self, request: TrainRequest) -> None:
        if self.state != "running":
            return
        job = self.runtime.submit(request, parent=self)
        self.job = job
        job.progress.connect(self._on_progress)
        job.frameReady.connect(self._on_render)
        job.logged.connect(self._on_log)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)

    def _on_progress(self, done: float, total: float, message: str, eta: object) -> None:
        if self.state == "running":
            text = message
            if isinstance(eta, int | float) and eta > 0:
                text += f" · {_duration(float(eta))} left"
            self.stateChanged.emit(self.state, text)
        self.progressChanged.emit(int(done), int(total))
        if done > 0:
            self._refresh()

    def _on_render(self, step: int, path: str, _preview: object) -> None:
        self._seen_renders.add(path)
        self._pool.run(
            load_thumbnail, Path(path), on_result=lambda img: self.validationAdded.emit(step, path, img)
        )

    def _on_log(self, _level: str, message: str) -> None:
        if message.startswith("checkpoint "):
            self._refresh()

    def _on_succeeded(self, result: dict) -> None:
        self.lora = str(result.get("lora") or (self.request.output if self.request else ""))
        steps = result.get("steps")
        loss = result.get("final_loss")
        text = f"Done: {steps} steps" + (f", final loss {loss:.4f}" if isinstance(loss, int | float) else "")
        self._finish("finished", text)
        self.loraChanged.emit(self.lora)

    def _on_failed(self, code: str, message: str) -> None:
        if code == "dataset_invalid":
            self.problemsReported.emit(problems_from_failure(message))
        self._finish("failed", message.splitlines()[0] if message else code)

    def _on_cancelled(self, _message: str) -> None:
        self._finish("stopped", "Stopped. Resume continues from the last checkpoint.")

    def _finish(self, state: str, text: str) -> None:
        self.job = None
        self._set_state(state, text)
        self._refresh(full=True)

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.stateChanged.emit(state, text)

    # ---- reading the work folder ----------------------------------------------------------------
    def _refresh(self, full: bool = False) -> None:
        """Read new loss lines and checkpoints (one read at a time; a request meanwhile repeats it)."""
        if self._reading:
            self._read_again = True
            self._full_again = self._full_again or full
            return
        if self.request is None or self._tail is None:
            return
        self._reading = True
        tail, work, request = self._tail, work_dir_of(self.request), self.request

        def read() -> tuple[bool, list[LogPoint], list[CheckpointInfo], list[tuple[int, Path]], bool]:
            reset, points = tail.read()
            renders = list_renders(work) if full else []
            return reset, points, list_checkpoints(work), renders, full and Path(request.output).is_file()

        self._pool.run(read, on_result=self._on_read, on_finally=self._read_done)

    def _on_read(self, found) -> None:
        reset, points, checkpoints, renders, lora_exists = found
        if reset:
            self.points = []
            self.lossReset.emit()
        if points:
            self.points += points
            self.lossAdded.emit(points)
        if checkpoints != self.checkpoints:
            self.checkpoints = checkpoints
            self.checkpointsChanged.emit(checkpoints)
        for step, path in renders:
            if str(path) not in self._seen_renders:
                self._on_render(step, str(path), None)
        if lora_exists and not self.running and self.request is not None and not self.lora:
            self.lora = self.request.output
            self.loraChanged.emit(self.lora)

    def _read_done(self) -> None:
        self._reading = False
        if self._read_again:
            full, self._read_again, self._full_again = self._full_again, False, False
            self._refresh(full)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def lora_adapter_of(lora: str) -> Path | None:
    """The ``LORA-adapter`` model folder the trainer writes beside a LoRA that needs its patch embedding."""
    folder = Path(lora.removesuffix(".safetensors") + "-adapter")
    return folder if (folder / "vivid_adapter.json").is_file() else None
