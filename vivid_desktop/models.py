"""Which models and LoRAs are on this machine (Qt-free): the runtime's own listing, and LoRA headers.

``list_models`` runs ``python -m model_runtime.vivid list --json`` (the command behind ``vivid model
list``) in a subprocess, so the editor lists exactly what the vivid engine will load without importing
the runtime's model code; a LoRA's entry carries the metadata our trainer wrote into its header (read
once, there). ``safetensors_header`` reads a ``.safetensors`` header without tensor data; the runtime's
discovery uses it too.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIST_TIMEOUT_S = 60.0


class DiscoveryError(RuntimeError):
    """Listing the models failed; the message says why."""


@dataclass(frozen=True)
class FoundModel:
    """A model or LoRA the runtime's discovery reported."""

    name: str
    path: str
    kind: str
    source: str = "folder"
    details: dict[str, Any] = field(default_factory=dict, compare=False)


def list_models(folders: list[str], include_hf_cache: bool = True) -> list[FoundModel]:
    """Models and LoRAs in ``folders`` (and the HF cache), by the runtime's discovery, in a subprocess."""
    cmd = [sys.executable, "-m", "model_runtime.vivid", "list", "--json"]
    for folder in folders:
        cmd += ["--dir", folder]
    if not include_hf_cache:
        cmd.append("--no-hf-cache")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=LIST_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiscoveryError(f"the model list could not be made: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DiscoveryError(f"the model list could not be made: {tail}")
    try:
        entries = json.loads(done.stdout)
    except ValueError:
        raise DiscoveryError("the model list could not be read") from None
    return [
        FoundModel(
            str(e["name"]), str(e["path"]), str(e["kind"]), str(e.get("source", "")), e.get("details") or {}
        )
        for e in entries
        if isinstance(e, dict) and {"name", "path", "kind"} <= e.keys()
    ]


def safetensors_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a ``.safetensors`` file (tensor names → dtype/shape, and ``__metadata__``),
    without reading tensor data. Raises ``ValueError`` or ``OSError`` for a file that is not one."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            raise ValueError(f"{path}: not a safetensors file")
        (size,) = struct.unpack("<Q", raw)
        if size > 100_000_000:
            raise ValueError(f"{path}: implausible safetensors header")
        try:
            header = json.loads(fh.read(size))
        except ValueError:  # not JSON, not UTF-8: say which file, not where in it
            raise ValueError(f"{path}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: not a safetensors header")
    return header


def vivid_metadata(header: dict[str, Any]) -> dict[str, Any]:
    """What our trainer wrote into a LoRA's header (rank, steps, base…): ``{}`` for other LoRAs."""
    try:
        meta = json.loads((header.get("__metadata__") or {}).get("vivid", "{}"))
    except (ValueError, AttributeError, TypeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def lora_metadata(path: str | Path) -> dict[str, Any]:
    """``vivid_metadata`` of a LoRA file (``{}`` when it cannot be read)."""
    try:
        return vivid_metadata(safetensors_header(path))
    except (OSError, ValueError):
        return {}


def describe_lora(meta: dict[str, Any]) -> str:
    parts = []
    if meta.get("rank"):
        parts.append(f"rank {meta['rank']}")
    if meta.get("steps"):
        parts.append(f"{meta['steps']} steps")
    summary = meta.get("dataset") or {}
    if isinstance(summary, dict) and summary.get("samples"):
        parts.append(f"{summary['samples']} samples")
    return ", ".join(parts)
