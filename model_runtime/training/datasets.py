"""The trainer's dataset check: the shared one (:mod:`vivid_desktop.datasets`), failing as a runtime error.

The layouts, sample lists and checks live in ``vivid_desktop.datasets`` so the trainer tab reads a
dataset exactly as the trainer does; here a refused dataset becomes a :class:`DatasetError` that is an
``EngineError`` (the ``train`` job fails with code ``dataset_invalid`` and every problem listed).
"""

from __future__ import annotations

from pathlib import Path

from model_runtime.training.errors import DatasetError
from vivid_desktop import datasets
from vivid_desktop.datasets import Dataset


def check_dataset(path: str | Path, num_frames: int) -> Dataset:
    """Discover and check a dataset; raise :class:`DatasetError` listing every problem, or return it."""
    try:
        return datasets.check_dataset(path, num_frames)
    except datasets.DatasetError as exc:
        raise DatasetError(exc.problems, exc.where) from None
