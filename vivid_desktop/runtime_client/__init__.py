"""Qt-free client of the runtime process (DESIGN.md §4): spawn, handshake, heartbeat, requests, jobs.

Typical use (the GUI wraps the same calls in a thin Qt bridge)::

    sup = Supervisor(LaunchSpec(), on_state=on_state, on_event=on_event)
    sup.start()                       # returns at once; the runtime starts in the background
    hello = sup.wait_ready(30)        # or wait for on_state(RuntimeState.READY, "")
    job = sup.submit(RenderPlan(...), on_event=on_job_event)   # or EditKeyframeRequest, TrainRequest...
    job.cancel()                      # cooperative; the job still ends with one terminal event
    terminal = job.wait()             # Message: succeeded / failed / cancelled
    sup.stop()                        # shutdown request → terminate → kill; joins every thread

Callbacks and threads — every callback runs on a client thread, never on the caller's (GUI) thread;
keep callbacks short and hand the data to your own thread (the Qt bridge emits queued signals):

- ``on_state(state: RuntimeState, detail: str)`` — starting → ready ⇄ busy; restarting; dead (``detail``
  says why, e.g. the last line of the runtime's log); stopped.
- ``on_event(message)`` — messages that belong to no job (unknown types from a newer runtime are logged
  and passed on here too).
- ``submit(request, on_event=cb)`` / ``Job.add_callback(cb)`` — the job's events: ``started``,
  ``progress`` (``done``, ``total``, ``message``, ``eta_s``, optional ``preview``), ``frame_ready``
  (``frame``, ``path``, optional ``preview``), ``metrics`` (``step``, ``values``: the trainer's loss, lr),
  ``log``, then exactly one terminal event: ``succeeded``
  (``result``), ``failed`` (``code``, ``message``) or ``cancelled``. A refused request, a runtime death
  (code ``runtime_died``) or a shutdown also end the job with one terminal event made by the client.

Previews: ``content.preview`` is a ``PreviewInfo(format, width, height, buffer)``; the image bytes are
``message.buffers[preview.buffer]`` — JPEG/PNG bytes, or ``raw`` RGB (``height * width * 3``). Use
:func:`preview_bytes` to get ``(info, data)`` or None.

A remote runtime (``vivid-runtime serve`` on a GPU server): ``Supervisor(remote_launch_spec("gpu:7000",
token_file, ca_file))``; the same calls work, inputs are uploaded and results fetched into the folders
the requests name (:mod:`.remote`).

:class:`RuntimeClient` is one runtime process (not restartable); :class:`Supervisor` owns the current
client and restarts it (``restart_limit`` deaths within ``restart_window_s``, then ``dead``).
"""

from __future__ import annotations

from vivid_desktop.protocol.envelope import Message
from vivid_desktop.protocol.messages import PreviewInfo
from vivid_desktop.runtime_client.client import RuntimeClient, RuntimeState
from vivid_desktop.runtime_client.errors import (
    NotReady,
    ProtocolMismatch,
    RequestFailed,
    RequestTimeout,
    RuntimeClientError,
    RuntimeDied,
    RuntimeStartError,
)
from vivid_desktop.runtime_client.jobs import Job
from vivid_desktop.runtime_client.launch import LaunchSpec, RemoteSpec, remote_launch_spec
from vivid_desktop.runtime_client.supervisor import Supervisor


def preview_bytes(message: Message) -> tuple[PreviewInfo, bytes] | None:
    """The preview of a ``progress``/``frame_ready`` event, or None if it has none (or was dropped)."""
    info = getattr(message.content, "preview", None)
    if not isinstance(info, PreviewInfo) or info.buffer >= len(message.buffers):
        return None
    return info, message.buffers[info.buffer]


__all__ = [
    "Job",
    "LaunchSpec",
    "Message",
    "NotReady",
    "PreviewInfo",
    "ProtocolMismatch",
    "RemoteSpec",
    "RequestFailed",
    "RequestTimeout",
    "RuntimeClient",
    "RuntimeClientError",
    "RuntimeDied",
    "RuntimeStartError",
    "RuntimeState",
    "Supervisor",
    "preview_bytes",
    "remote_launch_spec",
]
