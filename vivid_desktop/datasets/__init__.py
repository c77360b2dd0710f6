"""Training datasets, read and checked once for the trainer and the trainer tab (Qt-free, torch-free).

``samples`` finds the samples of the three layouts (docs/training.md) and ``project`` those of a project,
read only; ``checks`` checks sizes, frame counts and masks (:func:`check_dataset` raises one
:class:`DatasetError` naming every problem); ``media`` reads pixels; ``scan`` makes the trainer tab's rows
and thumbnails; ``synthetic`` writes small datasets for tests and demos. The trainer
(``model_runtime.training``) adds what needs torch.
"""

from vivid_desktop.datasets.checks import check_dataset, check_sample, read_sample
from vivid_desktop.datasets.errors import DatasetError, Problem, problems_from_failure
from vivid_desktop.datasets.samples import CheckedSample, Dataset, SampleSpec, discover
from vivid_desktop.datasets.scan import DatasetSummary, SampleRow, scan_dataset

__all__ = [
    "CheckedSample",
    "Dataset",
    "DatasetError",
    "DatasetSummary",
    "Problem",
    "SampleRow",
    "SampleSpec",
    "check_dataset",
    "check_sample",
    "discover",
    "problems_from_failure",
    "read_sample",
    "scan_dataset",
]
