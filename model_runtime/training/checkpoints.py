"""Training checkpoints: everything needed to go on as if the run had never stopped. No pickles.

A checkpoint is a folder ``<work_dir>/checkpoints/step-000120/``:

==========================  =====================================================================
``trainable.safetensors``   every trained parameter (LoRA matrices, a fully trained patch embedding)
``optimizer.safetensors``   AdamW's per-parameter tensors, keyed ``<param index>.<name>``
``rng.safetensors``         torch's CPU (and CUDA) generator states
``state.json``              step, optimizer param groups and scalars, LR schedule, numpy/python RNG,
                            the settings that must match to resume (``identity``)
==========================  =====================================================================

It is written under a temporary name and renamed into place, so a folder called ``step-*`` is always
complete: a kill during a save leaves the previous checkpoint as the newest. The last ``keep`` are kept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from model_runtime.training.errors import TrainingError
from vivid_desktop.protocol.errors import ErrorCode

PREFIX = "step-"


@dataclass
class TrainState:
    """What a checkpoint restores besides the tensors: the step and the schedule's position."""

    step: int
    scheduler: dict[str, Any]
    identity: dict[str, Any]
    metrics: dict[str, float]


def checkpoint_dir(work_dir: Path) -> Path:
    return work_dir / "checkpoints"


def list_checkpoints(work_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    folder = checkpoint_dir(work_dir)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def latest_checkpoint(work_dir: Path) -> Path | None:
    found = list_checkpoints(work_dir)
    return found[-1] if found else None


def _rng_tensors() -> dict[str, torch.Tensor]:
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda_{i}"] = state
    return tensors


def _python_rng() -> list[Any]:
    version, state, gauss = random.getstate()
    return [version, list(state), gauss]


def _optimizer_split(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors of the optimizer state for safetensors, the rest for JSON."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in sd["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save_checkpoint(
    work_dir: Path,
    state: TrainState,
    trainable: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    keep: int,
) -> Path:
    """Write a complete checkpoint atomically, then drop the oldest beyond ``keep``."""
    folder = checkpoint_dir(work_dir)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{PREFIX}{state.step:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=folder))
    try:
        save_file(
            {k: v.detach().contiguous().cpu() for k, v in trainable.items()}, tmp / "trainable.safetensors"
        )
        opt_tensors, opt_json = _optimizer_split(optimizer)
        save_file(opt_tensors, tmp / "optimizer.safetensors")
        save_file(_rng_tensors(), tmp / "rng.safetensors")
        meta = {
            "step": state.step,
            "scheduler": state.scheduler,
            "identity": state.identity,
            "metrics": state.metrics,
            "optimizer": opt_json,
            "numpy_rng": np.random.get_state(legacy=False),
            "python_rng": _python_rng(),
        }
        (tmp / "state.json").write_text(json.dumps(meta, indent=1, default=_json_default))
        for f in tmp.iterdir():
            _fsync(f)
        if final.exists():  # the same step saved again (a stop right after a periodic save)
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in list_checkpoints(work_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if torch.is_tensor(value):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def remove_stale(work_dir: Path) -> None:
    """Delete half-written checkpoints a killed run left behind."""
    folder = checkpoint_dir(work_dir)
    if folder.is_dir():
        for tmp in folder.glob(f".{PREFIX}*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)


def checkpoint_identity(path: Path) -> dict[str, Any]:
    """The settings a checkpoint was trained with (read before any tensor is loaded)."""
    try:
        return dict(json.loads((path / "state.json").read_text())["identity"])
    except (OSError, ValueError, KeyError) as exc:
        raise TrainingError(
            ErrorCode.CHECKPOINT_UNREADABLE, f"the checkpoint {path.name} cannot be read ({exc})"
        ) from exc


def load_checkpoint(
    path: Path, params: dict[str, torch.nn.Parameter], optimizer: torch.optim.Optimizer
) -> TrainState:
    """Restore trainable parameters, optimizer and RNG states in place; return the step and schedule."""
    try:
        meta = json.loads((path / "state.json").read_text())
        trainable = load_file(path / "trainable.safetensors")
        opt_tensors = load_file(path / "optimizer.safetensors")
        rng = load_file(path / "rng.safetensors")
    except (OSError, ValueError) as exc:
        raise TrainingError(
            ErrorCode.CHECKPOINT_UNREADABLE, f"the checkpoint {path.name} cannot be read ({exc})"
        ) from exc
    missing = sorted(set(params) - set(trainable))
    if missing:
        raise TrainingError(
            ErrorCode.CHECKPOINT_MISMATCH, f"the checkpoint {path.name} lacks {missing[0]} (and others)"
        )
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(trainable[name].to(param.dtype))
    state: dict[int, dict[str, Any]] = {}
    for key, value in opt_tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for index, scalars in meta["optimizer"]["scalars"].items():
        state.setdefault(int(index), {}).update(scalars)
    optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer"]["param_groups"]})
    torch.set_rng_state(rng["torch_cpu"])
    # by device number: "cuda_10" must not come before "cuda_2"
    cuda_keys = sorted((k for k in rng if k.startswith("cuda_")), key=lambda k: int(k.removeprefix("cuda_")))
    cuda_states = [rng[k] for k in cuda_keys]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    np_state = meta["numpy_rng"]
    np.random.set_state(np_state if isinstance(np_state, dict) else tuple(np_state))
    version, py_state, gauss = meta["python_rng"]
    random.setstate((version, tuple(py_state), gauss))
    return TrainState(meta["step"], meta["scheduler"], meta["identity"], meta.get("metrics", {}))
