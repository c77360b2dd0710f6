"""The loss log: JSON lines the trainer appends and the Train tab and ``vivid train`` users read.

Each step adds ``{"step", "loss", "lr", "variants", "s_per_step"}``; every ``val_loss_every`` steps (and at
step 0 and the last step) a ``{"step", "val_loss", "samples"}`` record follows that step's line. A resumed
run first drops every line after its checkpoint's step, so the log always tells one straight run.
"""

from __future__ import annotations

import json
from pathlib import Path


class LossLog:
    """Appends entries; ``truncate(step)`` drops those after ``step`` (a resume, see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def truncate(self, step: int) -> None:
        if not self.path.exists():
            return
        keep = [
            ln for ln in self.path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step
        ]
        self.path.write_text("".join(ln + "\n" for ln in keep))

    def append(self, entry: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")
