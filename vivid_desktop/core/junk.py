"""Temp files that interrupted writes leave in a project folder, removed when the project opens.

Every writer in VIVID writes to a hidden temp name beside the final file and renames it into place
(``core.files.write_atomic``), so a hidden temp name is never a result. A killed editor, runtime or save
leaves such temps behind in any folder of the project: ``project.json``'s, ``masks/<edit>/``,
``backups/``, ``renders/<id>/``, the flow cache. What counts as a temp is the render folder's rule
(:func:`vivid_desktop.render_folder.remove_stale_temps`); this module only walks the project with it.
The walk never follows links and skips hidden folders (a VCS's, a file manager's).
"""

from __future__ import annotations

import os
from pathlib import Path

from vivid_desktop.render_folder import remove_stale_temps


def remove_project_temps(folder: Path) -> int:
    """Delete the temp files interrupted writes left anywhere in the project ``folder``; how many."""
    count = 0
    for here, dirs, _files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        count += remove_stale_temps(here)
    return count
