"""The trainer's errors: one type for a broken dataset (every problem listed), one for everything else."""

from __future__ import annotations

from dataclasses import dataclass

from model_runtime.engines.base import EngineError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one sample, named so that a person can find and fix it."""

    sample: str
    message: str

    def __str__(self) -> str:
        return f"{self.sample}: {self.message}"


class TrainingError(EngineError):
    """A training run cannot start or go on; ``code`` is stable, ``message`` is for a person."""


class DatasetError(TrainingError):
    """The dataset has problems; the run does not start. ``problems`` lists every one, not just the first."""

    def __init__(self, problems: list[Problem], where: str = "") -> None:
        self.problems = list(problems)
        head = f"the dataset {where} has" if where else "the dataset has"
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__("dataset_invalid", f"{head} {count}; training did not start:\n{lines}")
