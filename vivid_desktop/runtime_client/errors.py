"""Errors of the runtime client; every message is one line a user can read."""

from __future__ import annotations


class RuntimeClientError(Exception):
    """Base of everything the runtime client raises."""


class RuntimeStartError(RuntimeClientError):
    """The runtime did not start or failed its handshake. ``fatal``: restarting will not help."""

    fatal = False

    def __init__(self, message: str, fatal: bool | None = None) -> None:
        super().__init__(message)
        if fatal is not None:
            self.fatal = fatal


class ProtocolMismatch(RuntimeStartError):
    """The runtime speaks an incompatible protocol version."""

    fatal = True


class RuntimeDied(RuntimeClientError):
    """The runtime exited, crashed or stopped answering."""


class RequestTimeout(RuntimeClientError):
    """No reply within the timeout."""


class RequestFailed(RuntimeClientError):
    """The runtime answered with an error (``code`` is stable, the message is for a person)."""

    def __init__(self, code: str, message: str, reply: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        #: the reply's content, when there was one
        self.reply = reply


class NotReady(RuntimeClientError):
    """There is no running runtime to talk to (starting, restarting, dead or stopped)."""
