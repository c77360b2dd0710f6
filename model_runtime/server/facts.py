"""What the runtime tells the client about itself.

:func:`cheap_facts` goes into ``hello_reply`` and must stay fast (no heavy import).
:func:`torch_facts` imports torch, so it runs only after the handshake and off the reading thread.
"""

from __future__ import annotations

import importlib.util
import os
import platform
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


def _gather() -> RuntimeFacts:
    if importlib.util.find_spec("torch") is None:
        return RuntimeFacts(error="torch is not installed")
    try:
        import torch

        gpus = []
        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                gpus.append({"index": i, "name": props.name, "memory_bytes": int(props.total_memory)})
        return RuntimeFacts(torch=str(torch.__version__), cuda=torch.version.cuda, gpus=gpus)
    except Exception as exc:  # a broken torch install is a fact to report, not a crash
        return RuntimeFacts(error=f"{type(exc).__name__}: {exc}")
