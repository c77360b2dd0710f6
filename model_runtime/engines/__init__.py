"""The engine registry: engines by name, imported lazily (DESIGN.md §5).

``get_engine(name)`` imports the engine's module the first time it is asked for and keeps one instance.
``engine_infos()`` is what ``hello_reply`` reports: an engine whose module is missing or fails to import
is listed as unavailable with the reason, never an error.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from pathlib import Path

from model_runtime.engines.base import Engine, EngineError, EngineInfo
from vivid_desktop.protocol.errors import ErrorCode

#: name → "package.module:ClassName" or "path/to/file.py:ClassName"
ENGINE_SPECS: dict[str, str] = {
    "flow": "model_runtime.engines.flow:FlowEngine",
    "vivid": "model_runtime.engines.vivid:VividEngine",
}

_instances: dict[str, Engine] = {}
_lock = threading.Lock()


def register_engine(name: str, spec: str) -> None:
    """Add (or replace) an engine by import spec; tests register test-only engines this way."""
    with _lock:
        ENGINE_SPECS[name] = spec
        _instances.pop(name, None)


def get_engine(name: str) -> Engine:
    """The engine called ``name``; :class:`EngineError` ``unknown_engine``/``engine_unavailable``."""
    with _lock:
        if name in _instances:
            return _instances[name]
        spec = ENGINE_SPECS.get(name)
        if spec is None:
            known = ", ".join(sorted(ENGINE_SPECS))
            raise EngineError(ErrorCode.UNKNOWN_ENGINE, f"no engine called {name!r} (known: {known})")
        try:
            engine = _load(spec)()
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(
                ErrorCode.ENGINE_UNAVAILABLE, f"engine {name!r} cannot be loaded: {exc}"
            ) from exc
        _instances[name] = engine
        return engine


def engine_infos() -> list[EngineInfo]:
    """One :class:`EngineInfo` per registered engine; cheap (no weights, no torch import)."""
    infos = []
    for name in list(ENGINE_SPECS):
        try:
            info = get_engine(name).info()
        except EngineError as exc:
            info = EngineInfo(name=name, available=False, reason=exc.message)
        except Exception as exc:  # an engine's info() must never take the runtime down
            info = EngineInfo(name=name, available=False, reason=f"{type(exc).__name__}: {exc}")
        infos.append(info)
    return infos


def _load(spec: str) -> type[Engine]:
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise EngineError(ErrorCode.ENGINE_UNAVAILABLE, f"bad engine spec {spec!r} (want module:Class)")
    if target.endswith(".py"):
        path = Path(target)
        mod_name = f"_vivid_engine_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise EngineError(ErrorCode.ENGINE_UNAVAILABLE, f"cannot import {target}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name and target.startswith(exc.name):
                raise EngineError(ErrorCode.ENGINE_UNAVAILABLE, f"{target} is not installed") from exc
            raise
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Engine)):
        raise EngineError(ErrorCode.ENGINE_UNAVAILABLE, f"{spec} is not an Engine class")
    return cls
