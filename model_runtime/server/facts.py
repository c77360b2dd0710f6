"""What the runtime tells the client about itself.

:func:`cheap_facts` goes into ``hello_reply`` and must stay fast (no heavy import).
:func:`torch_facts` asks a short-lived child process, which imports torch: importing torch holds the
interpreter lock for seconds at a time, and in this process that would leave the heartbeat unanswered
(a flow-only session never needs torch here at all). It runs after the handshake, off the reading thread.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import threading
from typing import Any

from vivid_desktop.protocol.messages import RuntimeFacts

_facts: RuntimeFacts | None = None
_facts_lock = threading.Lock()


def runtime_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("vivid-desktop")
    except metadata.PackageNotFoundError:
        return "unknown"


def cheap_facts() -> dict[str, Any]:
    """Facts for ``hello_reply``: no heavy import (``find_spec`` only looks for torch)."""
    return {
        "runtime_version": runtime_version(),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "pid": os.getpid(),
        "torch_installed": importlib.util.find_spec("torch") is not None,
    }


def known_facts() -> RuntimeFacts | None:
    """The torch facts if already gathered, else None (never imports)."""
    return _facts


def torch_facts() -> RuntimeFacts:
    """torch and CUDA versions and GPU memory; gathered once (the first call imports torch)."""
    global _facts
    with _facts_lock:
        if _facts is None:
            _facts = _gather()
        return _facts


#: what the child process runs: one JSON object on stdout
_PROBE = """
import json
import torch
gpus = []
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        gpus.append({"index": i, "name": p.name, "memory_bytes": int(p.total_memory)})
print(json.dumps({"torch": str(torch.__version__), "cuda": torch.version.cuda, "gpus": gpus}))
"""
#: a torch import that takes longer than this is reported as a fact, not waited for
PROBE_TIMEOUT_S = 300


def _gather() -> RuntimeFacts:
    if importlib.util.find_spec("torch") is None:
        return RuntimeFacts(error="torch is not installed")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return RuntimeFacts(error=f"importing torch failed: {last}")
        return RuntimeFacts(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        # a broken torch install is a fact to report, not a crash
        return RuntimeFacts(error=f"{type(exc).__name__}: {exc}")
