"""Job requests shared by the GUI, the command line and the runtime.

These are the ``content`` of the request messages that start jobs. Paths are absolute strings; frames
never travel over the socket: the runtime reads the source clip itself and writes results to the folders
named here. Masks are 8-bit grey PNG files, 255 = region to regenerate, the size of the source frame.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["add", "modify", "delete"]

#: The fixed caption of the paper for deletion.
DELETE_CAPTION = "remove objects and generate areas that blend with the background."


class _Content(BaseModel):
    # Unknown fields from a newer peer are ignored, never an error (DESIGN.md §4).
    model_config = ConfigDict(extra="ignore", frozen=True)


class KeyframeSpec(_Content):
    """A keyframe in a plan: its mask, and the edited image when there is one."""

    frame: int = Field(ge=0)
    mask: str
    image: str | None = None


class EditKeyframeRequest(_Content):
    """Edit one frame (image mode for vivid; a spatial/temporal fill for flow) and write ``output``."""

    source: str
    frame: int = Field(ge=0)
    mask: str
    task: Task
    caption: str = ""
    engine: str = "flow"
    seed: int = 0
    settings: dict[str, object] = Field(default_factory=dict)
    output: str


class TrackMasksRequest(_Content):
    """Carry anchor masks through ``[start, stop)``; write ``{frame:06d}.png`` into ``output_dir``."""

    source: str
    start: int = Field(ge=0)
    stop: int = Field(gt=0)
    anchors: list[KeyframeSpec]
    output_dir: str


class RenderPlan(_Content):
    """Everything a propagation needs. The render folder is the source of truth for what is done."""

    source: str
    start: int = Field(ge=0)
    stop: int = Field(gt=0)
    #: a folder of per-frame masks ``{frame:06d}.png``; frames without a file use the nearest one
    mask_dir: str | None = None
    #: one mask for every frame (used when ``mask_dir`` is None)
    mask: str | None = None
    keyframes: list[KeyframeSpec] = Field(default_factory=list)
    task: Task
    caption: str = ""
    engine: str = "flow"
    seed: int = 0
    settings: dict[str, object] = Field(default_factory=dict)
    #: finished frames are written here as ``{frame:06d}.png`` (atomically: temp name, then rename)
    output_dir: str
    feather: int = Field(default=3, ge=0)
