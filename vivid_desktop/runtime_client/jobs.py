"""A job as the client sees it: its events, and exactly one terminal event.

The terminal event is the runtime's ``succeeded``/``failed``/``cancelled``, or one the client makes when
the runtime refuses the request (``failed`` with the reply's error), dies (``failed``, code
``runtime_died``) or is shut down (``cancelled``). Later events for a finished job are dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from vivid_desktop.protocol.envelope import Message
from vivid_desktop.protocol.messages import TERMINAL_TYPES, Failed, Succeeded

log = logging.getLogger(__name__)

EventCallback = Callable[[Message], None]


class Job:
    """Handle of one submitted job. Callbacks run on the client's reading thread: keep them short."""

    def __init__(self, job_id: str, kind: str, request: BaseModel, cancel: Callable[[str], object]) -> None:
        self.job_id = job_id
        self.kind = kind
        self.request = request
        self._cancel = cancel
        self._callbacks: list[EventCallback] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.terminal: Message | None = None
        self.accepted: bool | None = None

    def add_callback(self, callback: EventCallback) -> None:
        """Call ``callback(message)`` for every later event of this job (terminal included)."""
        with self._lock:
            self._callbacks.append(callback)

    def cancel(self) -> None:
        """Ask the runtime to cancel; the job still ends with one terminal event."""
        if not self.done():
            self._cancel(self.job_id)

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> Message:
        """Block until the terminal event; :class:`TimeoutError` if it does not come in time."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.job_id} did not finish within {timeout} s")
        assert self.terminal is not None
        return self.terminal

    @property
    def succeeded(self) -> bool:
        return self.terminal is not None and isinstance(self.terminal.content, Succeeded)

    @property
    def result(self) -> dict[str, Any]:
        """The ``succeeded`` result ({} until then or when it failed)."""
        return self.terminal.content.result if self.succeeded else {}  # type: ignore[union-attr]

    @property
    def error(self) -> tuple[str, str] | None:
        """``(code, message)`` when the job failed."""
        if self.terminal is not None and isinstance(self.terminal.content, Failed):
            return self.terminal.content.code, self.terminal.content.message
        return None

    def deliver(self, message: Message) -> bool:
        """Hand one event to the job; True if it was its terminal event. Called by the client."""
        with self._lock:
            if self.terminal is not None:
                return False
            is_terminal = message.msg_type in TERMINAL_TYPES
            if is_terminal:
                self.terminal = message
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(message)
            except Exception:  # a listener's bug must not stop event delivery
                log.exception("job %s: event callback failed", self.job_id)
        if is_terminal:
            self._done.set()
        return is_terminal

    def __repr__(self) -> str:
        state = self.terminal.msg_type if self.terminal else "running"
        return f"Job({self.kind} {self.job_id} {state})"
