"""A dataset's problems: each one named by sample, all of them in one :class:`DatasetError`.

The error's message is what the runtime sends when it refuses a dataset (``failed`` with code
``dataset_invalid``); :func:`problems_from_failure` reads that message back, so the trainer tab flags by
sample name whatever the runtime found. Writer and reader of the ``  - NAME: message`` lines live here
together so they cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vivid_desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from vivid_desktop.datasets.samples import SampleSpec

CODE = ErrorCode.DATASET_INVALID
_PROBLEM_LINE = re.compile(r"^\s+-\s+(?P<name>.+?):\s(?P<message>.+)$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one sample, named so that a person can find and fix it.

    ``spec`` is the sample as far as it could be described (its media, mask and role), so the trainer
    tab can still show its picture; None for problems of the whole dataset or of an unreadable record.
    """

    sample: str
    message: str
    spec: SampleSpec | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.sample}: {self.message}"


class DatasetError(Exception):
    """The dataset has problems; training does not start. ``problems`` lists every one, not just the first.

    ``code`` and ``message`` match the runtime's errors (the runtime raises a subclass that is one).
    """

    def __init__(self, problems: list[Problem], where: str = "") -> None:
        self.problems = list(problems)
        self.where = where
        self.code = CODE
        head = f"the dataset {where} has" if where else "the dataset has"
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = "\n".join(f"  - {p}" for p in problems)
        self.message = f"{head} {count}; training did not start:\n{lines}"
        super().__init__(self.message)


def problems_from_failure(message: str) -> list[tuple[str, str]]:
    """``(sample name, problem)`` pairs from a :class:`DatasetError` message (a runtime ``failed`` event)."""
    out = []
    for line in message.splitlines():
        match = _PROBLEM_LINE.match(line)
        if match:
            out.append((match["name"], match["message"]))
    return out
