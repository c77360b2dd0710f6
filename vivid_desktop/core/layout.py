"""Where things live in a project folder ``NAME.vivid/`` (docs/project-folder.md).

Layout::

    NAME.vivid/project.json            {"schema": "Project.1", ...}
    NAME.vivid/masks/<edit>/{frame:06d}.png        keyframe masks (grey, 255 = edit)
    NAME.vivid/masks/<edit>/track/{frame:06d}.png  tracked masks
    NAME.vivid/keyframes/<edit>/{frame:06d}.png    edited keyframes (RGB)
    NAME.vivid/renders/<render>/{frame:06d}.png    rendered frames (lossless); inputs/ = the plan's masks
    NAME.vivid/cache/                  frame index, proxy, thumbnails, flow (may be deleted at any time)
    NAME.vivid/backups/                a ring of project.json snapshots
    NAME.vivid/exchange/               keyframes being edited in an external image editor

Every path here is built from checked ids and names and checked by :func:`paths.inside` to stay in the
folder, so a crafted ``project.json`` or a linked subfolder cannot redirect a read, write or delete.
"""

from __future__ import annotations

import os
from pathlib import Path

from vivid_desktop.core.paths import check_id, check_name, inside
from vivid_desktop.render_folder import done_frames, frame_name

PROJECT_FILE = "project.json"
SUFFIX = ".vivid"
#: The folders a project is made with (each may be missing; none may be a link leading outside).
SUBFOLDERS = ("masks", "keyframes", "renders", "cache", "backups")
#: ... and the one made on demand (the external image editor's files).
CHECKED_FOLDERS = (*SUBFOLDERS, "exchange")


class ProjectLayout:
    """The paths of one project folder; every method checks that its result stays inside it."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).absolute()

    @property
    def project_file(self) -> Path:
        return self.folder / PROJECT_FILE

    @property
    def backups_dir(self) -> Path:
        return inside(self.folder, "backups")

    def path(self, name: str) -> Path:
        """A file named in the model (relative, ``/``-separated) → its absolute path, checked."""
        check_name(name, "the file name")
        return inside(self.folder, *name.split("/"))

    def cache_dir(self, *parts: str) -> Path:
        """A folder under ``cache/`` (created); for the frame index, proxy, thumbnails and flow."""
        for part in parts:
            check_name(part, "the cache folder")
        d = inside(self.folder, "cache", *parts)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def render_dir(self, render_id: str) -> Path:
        return inside(self.folder, "renders", check_id(render_id, "render id"))

    def render_frame_path(self, render_id: str, frame: int) -> Path:
        return self.render_dir(render_id) / frame_name(frame)

    def track_dir(self, edit_id: str) -> Path:
        """Where mask tracking writes ``{frame:06d}.png`` for an edit."""
        return inside(self.folder, "masks", check_id(edit_id, "edit id"), "track")

    def preview_dir(self, edit_id: str) -> Path:
        """Where keyframe previews of an edit go (created)."""
        return self.cache_dir("previews", check_id(edit_id, "edit id"))

    def rendered_frames(self, render_id: str) -> list[int]:
        """Frame numbers whose finished file is in the render folder (the folder is the truth)."""
        return done_frames(self.render_dir(render_id))
