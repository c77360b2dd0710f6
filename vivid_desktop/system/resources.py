"""Where ``resources/`` (style sheets, icons) is: inside the installed package, or at the checkout's root.

A wheel carries the repository's top-level ``resources/`` as ``vivid_desktop/resources/`` (setup.py); a
checkout or an editable install reads the folder where it is.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

#: A file every complete resources folder has (so a stray empty folder is never taken for it).
_MARKER = Path("style", "dark.qss")


@functools.cache
def resources_dir() -> Path:
    """The resources folder (``FileNotFoundError`` when neither place has it: a broken install)."""
    installed = Path(str(resources.files("vivid_desktop") / "resources"))
    checkout = Path(__file__).resolve().parents[2] / "resources"
    for candidate in (installed, checkout):
        if (candidate / _MARKER).is_file():
            return candidate
    raise FileNotFoundError(f"VIVID Desktop's resources are missing (looked in {installed} and {checkout})")


def resource_path(*parts: str) -> Path:
    """A file in the resources folder, e.g. ``resource_path("icons", "play.svg")``."""
    return resources_dir().joinpath(*parts)
