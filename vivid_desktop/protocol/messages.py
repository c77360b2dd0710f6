"""One typed class per message: requests, their replies, and job events (docs/protocol.md).

Each class is the ``content`` of one ``msg_type``. The table :data:`MESSAGE_TYPES` maps every type to its
class; :func:`vivid_desktop.protocol.envelope.make_message` is the one factory that builds messages.
Unknown fields are ignored (a newer peer may send more); job requests reuse the shared schemas of
:mod:`vivid_desktop.protocol.jobs`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vivid_desktop.protocol.jobs import (
    EditKeyframeRequest,
    RenderBatch,
    RenderPlan,
    TrackMasksRequest,
    TrainRequest,
)


class Content(BaseModel):
    """Base of every message content: unknown fields are ignored, never an error."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ErrorInfo(Content):
    """Why a request was refused. ``code`` is stable; ``message`` is for a person."""

    code: str
    message: str


class Reply(Content):
    """Base of every ``*_reply``: exactly one per request."""

    ok: bool = True
    error: ErrorInfo | None = None


# ---- the handshake and housekeeping -------------------------------------------------------------


class Hello(Content):
    """First message of a connection. ``secret`` is the per-launch secret the client passed the runtime."""

    protocol: str
    secret: str = ""
    client: str = ""
    client_version: str = ""
    features: list[str] = Field(default_factory=list)


class EngineDescription(Content):
    """What the runtime says about one engine (from :class:`model_runtime.engines.base.EngineInfo`)."""

    name: str
    available: bool
    reason: str = ""
    tasks: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class RuntimeFacts(Content):
    """Facts that need heavy imports (torch): reported after the handshake, on request."""

    torch: str | None = None
    cuda: str | None = None
    gpus: list[dict[str, Any]] = Field(default_factory=list)
    error: str = ""


class HelloReply(Reply):
    """The runtime's answer to ``hello``: versions, cheap facts, engines, features."""

    protocol: str
    runtime_version: str = ""
    python: str = ""
    platform: str = ""
    pid: int = 0
    torch_installed: bool = False
    engines: list[EngineDescription] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)


class Ping(Content):
    """Heartbeat; answered with ``pong`` by the reading thread even while a job runs."""


class Pong(Reply):
    """The reply to ``ping``."""


class Status(Content):
    """Ask what the runtime is doing."""


class StatusReply(Reply):
    state: Literal["idle", "busy"] = "idle"
    current_job: str | None = None
    current_kind: str | None = None
    queued: list[str] = Field(default_factory=list)
    uptime_s: float = 0.0
    facts: RuntimeFacts | None = None


class RuntimeFactsRequest(Content):
    """Ask for :class:`RuntimeFacts` (the first time imports torch, off the reading thread)."""


class RuntimeFactsReply(Reply):
    facts: RuntimeFacts | None = None


class Cancel(Content):
    """Cancel a queued or running job. The job still ends with exactly one terminal event."""

    job_id: str


class CancelReply(Reply):
    job_id: str = ""
    #: ``removed``: it was still queued; ``cancelling``: it runs and will stop at its next check
    outcome: Literal["removed", "cancelling"] | None = None


class Shutdown(Content):
    """Stop the runtime: running jobs are cancelled, then the process exits."""


class ShutdownReply(Reply):
    pass


class ErrorReply(Reply):
    """The reply to a message the runtime could not act on (unknown type, invalid content)."""

    ok: bool = False


# ---- jobs -----------------------------------------------------------------------------------------


class JobAccepted(Reply):
    """Base of a job request's reply: the job is queued (or refused with ``error``)."""

    job_id: str = ""
    position: int = 0


class EditKeyframeReply(JobAccepted):
    pass


class TrackMasksReply(JobAccepted):
    pass


class PropagateReply(JobAccepted):
    pass


class RenderBatchReply(JobAccepted):
    pass


class TrainReply(JobAccepted):
    pass


class PreviewInfo(Content):
    """Describes a binary buffer that carries a small preview image (RGB)."""

    format: Literal["raw", "jpeg", "png"]
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    buffer: int = Field(default=0, ge=0)


class Started(Content):
    """A job left the queue and runs now."""

    kind: str


class Progress(Content):
    """Progress of a job; may be merged or dropped under back-pressure (``unit: step`` is never merged)."""

    done: float
    total: float
    message: str = ""
    eta_s: float | None = None
    preview: PreviewInfo | None = None
    #: what ``done`` and ``total`` count: ``step`` (denoising steps of a keyframe preview), ``stage``;
    #: empty when unstated (protocol 1.2)
    unit: str = ""


class FrameReady(Content):
    """A finished frame is on disk at ``path``; the preview may be dropped under back-pressure."""

    frame: int
    path: str
    preview: PreviewInfo | None = None


class Metrics(Content):
    """Numbers of one step of a job (the trainer's ``loss``, ``lr``) for plots; never merged or dropped."""

    step: int
    values: dict[str, float] = Field(default_factory=dict)


class Log(Content):
    level: Literal["debug", "info", "warning", "error"] = "info"
    message: str


class Succeeded(Content):
    """Terminal: the job finished; ``result`` depends on the job kind."""

    result: dict[str, Any] = Field(default_factory=dict)


class Failed(Content):
    """Terminal: the job failed. ``code`` is stable, ``message`` is for a person."""

    code: str
    message: str


class Cancelled(Content):
    """Terminal: the job was cancelled."""

    message: str = ""


#: msg_type → content class. Add new types here (and a golden fixture in tests/protocol/golden/).
MESSAGE_TYPES: dict[str, type[BaseModel]] = {
    "hello": Hello,
    "hello_reply": HelloReply,
    "ping": Ping,
    "pong": Pong,
    "status": Status,
    "status_reply": StatusReply,
    "runtime_facts": RuntimeFactsRequest,
    "runtime_facts_reply": RuntimeFactsReply,
    "cancel": Cancel,
    "cancel_reply": CancelReply,
    "shutdown": Shutdown,
    "shutdown_reply": ShutdownReply,
    "error_reply": ErrorReply,
    "edit_keyframe": EditKeyframeRequest,
    "edit_keyframe_reply": EditKeyframeReply,
    "track_masks": TrackMasksRequest,
    "track_masks_reply": TrackMasksReply,
    "propagate": RenderPlan,
    "propagate_reply": PropagateReply,
    "render_batch": RenderBatch,
    "render_batch_reply": RenderBatchReply,
    "train": TrainRequest,
    "train_reply": TrainReply,
    "started": Started,
    "progress": Progress,
    "frame_ready": FrameReady,
    "metrics": Metrics,
    "log": Log,
    "succeeded": Succeeded,
    "failed": Failed,
    "cancelled": Cancelled,
}

#: Requests the client sends, each answered by exactly one reply of the type given here.
REPLY_TYPES: dict[str, str] = {
    "hello": "hello_reply",
    "ping": "pong",
    "status": "status_reply",
    "runtime_facts": "runtime_facts_reply",
    "cancel": "cancel_reply",
    "shutdown": "shutdown_reply",
    "edit_keyframe": "edit_keyframe_reply",
    "track_masks": "track_masks_reply",
    "propagate": "propagate_reply",
    "render_batch": "render_batch_reply",
    "train": "train_reply",
}

#: Requests that start a job on the runtime's one job queue.
JOB_TYPES: list[str] = ["edit_keyframe", "track_masks", "propagate", "render_batch", "train"]

#: Events that end a job. Exactly one per job; never dropped or merged.
TERMINAL_TYPES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

#: Events that are part of a job's stream (carry ``job_id``).
JOB_EVENT_TYPES: frozenset[str] = (
    frozenset({"started", "progress", "frame_ready", "metrics", "log"}) | TERMINAL_TYPES
)


def register_message(msg_type: str, content: type[BaseModel], *, reply_to: str | None = None) -> None:
    """Add a message type (e.g. ``train`` later). ``reply_to`` names the request this type answers."""
    if msg_type in MESSAGE_TYPES and MESSAGE_TYPES[msg_type] is not content:
        raise ValueError(f"message type {msg_type!r} is already registered")
    MESSAGE_TYPES[msg_type] = content
    if reply_to is not None:
        REPLY_TYPES[reply_to] = msg_type


def register_job_type(msg_type: str, request: type[BaseModel], reply: type[JobAccepted]) -> None:
    """Add a job kind: its request schema and its ``*_reply`` class."""
    register_message(msg_type, request)
    register_message(f"{msg_type}_reply", reply, reply_to=msg_type)
    if msg_type not in JOB_TYPES:
        JOB_TYPES.append(msg_type)
