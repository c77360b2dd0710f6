"""The trainer's errors: one for everything that stops a run, and the shared dataset error as one of them."""

from __future__ import annotations

from model_runtime.engines.base import EngineError
from vivid_desktop.datasets import errors as shared


class TrainingError(EngineError):
    """A training run cannot start or go on; ``code`` is stable, ``message`` is for a person."""


class DatasetError(TrainingError, shared.DatasetError):
    """The dataset has problems (every one in ``problems``); as an EngineError the job fails with them."""

    def __init__(self, problems: list[shared.Problem], where: str = "") -> None:
        shared.DatasetError.__init__(self, problems, where)
