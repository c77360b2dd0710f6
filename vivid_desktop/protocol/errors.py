"""The error a job reports to the editor: a stable ``code`` (it appears in ``failed`` events and error
replies) and a one-line ``message`` for the user.

Raised by the engines and by the shared layers they build on (the render folder, the source frames), so
that a missing mask is the same failure whichever engine meets it.
"""

from __future__ import annotations


class JobError(Exception):
    """A failure the user can act on; ``code`` is stable, ``message`` is one line for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
