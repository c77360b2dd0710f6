"""Jobs on a remote runtime: inputs go up as content-addressed uploads, results come back as files.

A remote runtime cannot read the editor's disk. :class:`RemoteJobs` runs each job on its own thread:
upload what the request names (hashed, chunked, resumed where an earlier upload stopped, skipped when
the server has it), submit the request with references instead of paths, and fetch every finished frame
losslessly into the local folder the request named — the project's render folder stays the source of
truth. The render key is a hash of the request, so a job submitted again after a dropped connection
finds the frames the server already finished: nothing is computed twice, nothing fetched twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import queue
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol import uploads as u
from vivid_desktop.protocol.envelope import Message, make_message
from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan, TrackMasksRequest
from vivid_desktop.runtime_client.errors import NotReady, RequestFailed, RequestTimeout, RuntimeClientError
from vivid_desktop.runtime_client.jobs import EventCallback, Job
from vivid_desktop.runtime_client.transfer import Transfers

if TYPE_CHECKING:
    from vivid_desktop.runtime_client.client import RuntimeClient

log = logging.getLogger(__name__)

_FRAME = re.compile(r"^\d{6}\.png$")


class _Cancelled(Exception):
    pass


class RemoteJobs:
    """Submits jobs of one :class:`RuntimeClient` to its remote runtime."""

    def __init__(self, client: RuntimeClient) -> None:
        self.client = client
        self.transfers = Transfers(client)

    def submit(self, request: BaseModel, on_event: EventCallback | None, job_id: str) -> Job:
        kind = _kind(request)
        cancel = threading.Event()
        job = Job(job_id, kind, request, lambda _id: cancel.set())
        if on_event is not None:
            job.add_callback(on_event)
        threading.Thread(
            target=self._run, args=(job, request, cancel), name="vivid-remote-job", daemon=True
        ).start()
        return job

    # ---- one job, on its own thread --------------------------------------------------------------

    def _run(self, job: Job, request: BaseModel, cancel: threading.Event) -> None:
        try:
            remote, outputs = self._prepare(job, request, cancel)
            events: queue.SimpleQueue[Message] = queue.SimpleQueue()
            inner = self.client.submit_direct(remote, on_event=events.put, job_id=job.job_id)
            job._cancel = lambda _id: inner.cancel()  # cancel now reaches the runtime's job
            if cancel.is_set():
                inner.cancel()
            while True:
                msg = events.get()
                if self._forward(job, msg, outputs):
                    return
        except _Cancelled:
            self._end(job, m.Cancelled(message="cancelled while uploading"))
        except RequestFailed as exc:
            self._end(job, m.Failed(code=exc.code, message=exc.message))
        except (NotReady, RequestTimeout, RuntimeClientError, ConnectionError) as exc:
            if self.client.stopping:
                self._end(job, m.Cancelled(message="the runtime was shut down"))
            else:
                self._end(job, m.Failed(code="runtime_died", message=str(exc)))
        except OSError as exc:
            self._end(job, m.Failed(code="file_not_found", message=f"{exc.filename or exc}: {exc.strerror}"))
        except Exception as exc:  # the job still ends with exactly one terminal event
            log.exception("remote job %s failed", job.job_id)
            self._end(job, m.Failed(code="internal_error", message=f"{type(exc).__name__}: {exc}"))

    def _prepare(self, job: Job, request: BaseModel, cancel: threading.Event) -> tuple[BaseModel, _Outputs]:
        """Upload the inputs; the request with references; where its outputs land locally."""

        def progress(done: int, total: int) -> None:
            if cancel.is_set():
                raise _Cancelled
            self._deliver(job, m.Progress(done=done, total=total, message="uploading inputs"))

        refs = self.transfers.upload_inputs(_inputs(request), progress)
        remote = _with_refs(request, refs)
        key = hashlib.sha256(json.dumps(remote.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
        key = key[:40]
        if isinstance(remote, EditKeyframeRequest):
            local = Path(request.output)  # type: ignore[attr-defined]
            name = local.name if re.match(u.NAME, local.name) else "output.png"
            outputs = _Outputs(f"render:{key}", local.parent, {name: local}, overwrite=True)
            remote = remote.model_copy(update={"output": f"render:{key}/{name}"})
        else:
            folder = Path(request.output_dir)  # type: ignore[attr-defined]
            # a render resumes (frames here are finished); tracking replaces what an older track left
            outputs = _Outputs(f"render:{key}", folder, None, overwrite=not isinstance(remote, RenderPlan))
            remote = remote.model_copy(update={"output_dir": f"render:{key}"})
        return remote, outputs

    def _forward(self, job: Job, msg: Message, outputs: _Outputs) -> bool:
        """Pass one runtime event on, with local paths; True after the terminal event."""
        content = msg.content
        if isinstance(content, m.FrameReady):
            name = content.path.rpartition("/")[2]
            local = self.transfers.fetch(content.path, outputs.local(name), outputs.overwrite)
            outputs.fetched.add(name)
            content = content.model_copy(update={"path": str(local)})
        elif isinstance(content, m.Succeeded):
            self.transfers.sync(outputs.ref, outputs.wanted, outputs.fetched, outputs.overwrite)
            result = {k: outputs.localize(v) for k, v in content.result.items()}
            content = content.model_copy(update={"result": result})
        job.deliver(dataclasses.replace(msg, content=content))
        return msg.msg_type in m.TERMINAL_TYPES

    def _deliver(self, job: Job, content: BaseModel) -> None:
        job.deliver(make_message(content, session=self.client.session, job_id=job.job_id))

    def _end(self, job: Job, content: BaseModel) -> None:
        self._deliver(job, content)


@dataclasses.dataclass
class _Outputs:
    """Where a job's results live on the server (``ref``) and here (``folder``)."""

    ref: str
    folder: Path
    #: name → local path for single-file outputs; None: every per-frame PNG of the folder
    files: dict[str, Path] | None
    #: replace local files (a keyframe preview, tracked masks) rather than keep them (a render resumes)
    overwrite: bool = False
    fetched: set[str] = dataclasses.field(default_factory=set)

    def wanted(self, name: str) -> Path | None:
        if self.files is not None:
            return self.files.get(name)
        return self.folder / name if _FRAME.match(name) else None

    def local(self, name: str) -> Path:
        path = self.wanted(name)
        if path is None:
            raise RequestFailed("bad_reference", f"the runtime sent an unexpected file name {name[:64]!r}")
        return path

    def localize(self, value: Any) -> Any:
        if not isinstance(value, str) or not value.startswith(self.ref):
            return value
        rest = value[len(self.ref) :].lstrip("/")
        return str(self.local(rest)) if rest else str(self.folder)


def _kind(request: BaseModel) -> str:
    from vivid_desktop.protocol.envelope import msg_type_of

    return msg_type_of(request)


def _inputs(request: BaseModel) -> dict[str, Path | list[Path]]:
    """The local files a request names: ``field`` → file, or ``mask_dir`` → the folder's PNGs."""
    if not isinstance(request, EditKeyframeRequest | TrackMasksRequest | RenderPlan):
        what = "training" if type(request).__name__ == "TrainRequest" else type(request).__name__
        raise RequestFailed(
            "bad_request",
            f"{what} does not run on a remote runtime yet: run it on the server (docs/studio.md)",
        )
    files: dict[str, Path | list[Path]] = {"source": Path(request.source)}
    if isinstance(request, EditKeyframeRequest):
        files["mask"] = Path(request.mask)
        return files
    keys = request.anchors if isinstance(request, TrackMasksRequest) else request.keyframes
    for i, key in enumerate(keys):
        files[f"key{i}.mask"] = Path(key.mask)
        if key.image is not None:
            files[f"key{i}.image"] = Path(key.image)
    if isinstance(request, RenderPlan):
        if request.mask is not None:
            files["mask"] = Path(request.mask)
        if request.mask_dir is not None:
            files["mask_dir"] = sorted(p for p in Path(request.mask_dir).iterdir() if _FRAME.match(p.name))
    return files


def _with_refs(request: BaseModel, refs: dict[str, str]) -> BaseModel:
    # the server keeps its own engine caches; a local cache folder means nothing there
    settings = {k: v for k, v in request.settings.items() if k != "cache_dir"}  # type: ignore[attr-defined]
    update: dict[str, Any] = {"source": refs["source"], "settings": settings}
    if isinstance(request, EditKeyframeRequest):
        update["mask"] = refs["mask"]
        return request.model_copy(update=update)
    assert isinstance(request, TrackMasksRequest | RenderPlan)
    field = "anchors" if isinstance(request, TrackMasksRequest) else "keyframes"
    update[field] = [
        key.model_copy(update={"mask": refs[f"key{i}.mask"], "image": refs.get(f"key{i}.image")})
        for i, key in enumerate(getattr(request, field))
    ]
    for name in ("mask", "mask_dir"):
        if name in refs:
            update[name] = refs[name]
    return request.model_copy(update=update)
