"""The optional parts of the install (pyproject's extras) and one clear line when one is missing.

Users install ``vivid-desktop[gui,model]``; a command that needs a part that is not there says which
extra to install instead of ending in a ModuleNotFoundError traceback. Nothing is imported to find out
(``find_spec`` only looks), so the GUI side can ask about torch without loading it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

#: extra → {distribution: import name}; tests/system/test_extras.py keeps it equal to pyproject's extras.
EXTRAS: dict[str, dict[str, str]] = {
    "gui": {
        "PySide6-Essentials": "PySide6",
        "PySide6-Addons": "PySide6.QtMultimedia",
        "pyqtgraph": "pyqtgraph",
    },
    "model": {
        "torch": "torch",
        "diffusers": "diffusers",
        "transformers": "transformers",
        "peft": "peft",
        "safetensors": "safetensors",
        "accelerate": "accelerate",
        "sentencepiece": "sentencepiece",
        "protobuf": "google.protobuf",
    },
}


class MissingExtra(RuntimeError):
    """A command needs an extra that is not installed; ``str()`` is the one line to show."""


def installed(module: str) -> bool:
    """Can ``module`` be imported? Looked up without importing anything (for ``pkg.sub``, not even
    ``pkg``: the submodule's file is looked for in the package's folders)."""
    top, _, sub = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):  # a broken install counts as missing
        return False
    if spec is None or not sub:
        return spec is not None
    *parents, name = sub.split(".")
    suffixes = tuple(importlib.machinery.all_suffixes())  # .py, .pyc, .so …: not .pyi stubs
    for folder in spec.submodule_search_locations or []:
        where = Path(folder, *parents)
        if (where / name / "__init__.py").is_file():
            return True
        if any(p.name.endswith(suffixes) for p in where.glob(f"{name}.*")):
            return True
    return False


def missing(extra: str) -> list[str]:
    """The distributions of ``extra`` that cannot be imported here."""
    return [dist for dist, module in EXTRAS[extra].items() if not installed(module)]


def install_hint(extra: str) -> str:
    return f'pip install "vivid-desktop[{extra}]" (in a checkout: ./installers/vivid.sh setup)'


def missing_line(extra: str, what: str) -> str | None:
    """'vivid model tiny needs the model extra (torch, diffusers are not installed): pip install …'."""
    lacking = missing(extra)
    if not lacking:
        return None
    names = f"{', '.join(lacking)} {'is' if len(lacking) == 1 else 'are'} not installed"
    return f"{what} needs the {extra} extra ({names}): {install_hint(extra)}"


def require(extra: str, what: str) -> None:
    """Raise MissingExtra (one line) when part of ``extra`` is not installed."""
    if line := missing_line(extra, what):
        raise MissingExtra(line)
