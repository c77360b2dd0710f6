"""Job requests shared by the GUI, the command line and the runtime.

These are the ``content`` of the request messages that start jobs. Paths are absolute strings (a
relative one is refused: the runtime never guesses a folder); frames
never travel over the socket: the runtime reads the source clip itself and writes results to the folders
named here. Masks are 8-bit grey PNG files, 255 = region to regenerate, the size of the source frame.
"""

from __future__ import annotations

import math
import os
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Task = Literal["add", "modify", "delete"]

#: The fixed caption of the paper for deletion.
DELETE_CAPTION = "remove objects and generate areas that blend with the background."


#: Inclusive bounds of the numeric engine settings any engine reads (a crafted ``feather: 1e6`` would
#: otherwise ask for terabytes). Keys not listed are left to the engine; listed keys must be numbers.
SETTING_LIMITS: dict[str, tuple[float, float]] = {
    "feather": (0, 256),
    "dilate": (0, 256),
    "context": (0, 500),
    "window": (0, 100_000),
    "margin": (0, 10_000),
    "memory_mb": (0, 1 << 20),
    "flow_max_side": (16, 8192),
    "steps": (1, 1000),
    "guidance": (0, 100),
    "window_length": (1, 1025),
    "window_stride": (1, 1024),
}
#: Settings that name a path (absolute, like every path in a request).
PATH_SETTINGS = ("cache_dir",)
#: Frame numbers: ten million frames is 46 hours at 60 fps.
MAX_FRAMES = 10_000_000
#: The largest picture side VIVID edits (media.scan refuses larger clips; docs/project-folder.md).
MAX_SIDE = 8192
#: Seeds are 64-bit.
SEED_LIMIT = 2**63


def check_path(value: str) -> str:
    """A path in a request: absolute, valid UTF-8, no NUL (the runtime never resolves relative names);
    or, for a remote runtime, a reference (``upload:<sha256>``, ``render:<key>``: protocol.uploads)."""
    from vivid_desktop.protocol.uploads import parse_ref  # uploads builds on the messages, which need us

    if parse_ref(value) is not None:
        return value
    if "\x00" in value:
        raise ValueError("a path cannot contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a path must be valid UTF-8 text (rename the file)") from None
    if not os.path.isabs(value):
        raise ValueError(f"paths in requests must be absolute, not {value!r}")
    return value


def check_settings(settings: dict[str, object]) -> dict[str, object]:
    """``settings`` when every bounded number is in range and every path setting is absolute."""
    for key, (lo, hi) in SETTING_LIMITS.items():
        value = settings.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"the setting {key!r} must be a number, not {value!r}")
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ValueError(f"the setting {key!r} must be between {lo:g} and {hi:g}, not {value!r}")
    for key in PATH_SETTINGS:
        value = settings.get(key)
        if value is not None:
            check_path(str(value))
    return settings


def _check_path_if_set(value: str) -> str:
    return check_path(value) if value else value


AbsPath = Annotated[str, AfterValidator(check_path)]
#: absolute, or empty while a form has none yet (the trainer refuses to start without it)
AbsPathOrUnset = Annotated[str, AfterValidator(_check_path_if_set)]
Settings = Annotated[dict[str, object], AfterValidator(check_settings)]
Seed = Annotated[int, Field(gt=-SEED_LIMIT, lt=SEED_LIMIT)]


class _Content(BaseModel):
    # Unknown fields from a newer peer are ignored, never an error (DESIGN.md §4).
    model_config = ConfigDict(extra="ignore", frozen=True)


class KeyframeSpec(_Content):
    """A keyframe in a plan: its mask, and the edited image when there is one."""

    frame: int = Field(ge=0, le=MAX_FRAMES)
    mask: AbsPath
    image: AbsPath | None = None


class EditKeyframeRequest(_Content):
    """Edit one frame (image mode for vivid; a spatial/temporal fill for flow) and write ``output``."""

    source: AbsPath
    frame: int = Field(ge=0, le=MAX_FRAMES)
    mask: AbsPath
    task: Task
    caption: str = ""
    engine: str = "flow"
    seed: Seed = 0
    settings: Settings = Field(default_factory=dict)
    output: AbsPath


class TrackMasksRequest(_Content):
    """Carry anchor masks through ``[start, stop)``; write ``{frame:06d}.png`` into ``output_dir``."""

    source: AbsPath
    start: int = Field(ge=0, le=MAX_FRAMES)
    stop: int = Field(gt=0, le=MAX_FRAMES)
    anchors: list[KeyframeSpec]
    output_dir: AbsPath
    #: engine settings, e.g. ``cache_dir`` so tracking and propagation share one flow cache
    settings: Settings = Field(default_factory=dict)


class RenderPlan(_Content):
    """Everything a propagation needs. The render folder is the source of truth for what is done."""

    source: AbsPath
    start: int = Field(ge=0, le=MAX_FRAMES)
    stop: int = Field(gt=0, le=MAX_FRAMES)
    #: a folder of per-frame masks ``{frame:06d}.png``; frames without a file use the nearest one
    mask_dir: AbsPath | None = None
    #: one mask for every frame (used when ``mask_dir`` is None)
    mask: AbsPath | None = None
    keyframes: list[KeyframeSpec] = Field(default_factory=list)
    task: Task
    caption: str = ""
    engine: str = "flow"
    seed: Seed = 0
    settings: Settings = Field(default_factory=dict)
    #: finished frames are written here as ``{frame:06d}.png`` (atomically: temp name, then rename)
    output_dir: AbsPath
    feather: int = Field(default=3, ge=0, le=256)
    #: render on a Ray cluster instead of in the runtime: "local" (start one on this machine) or the
    #: address of an existing cluster (``ray://head:10001``, ``head:6379``, ``auto``); None = here
    cluster: str | None = None


class RenderBatch(_Content):
    """Several renders (shots, edits) at once; on a cluster their parts run side by side."""

    plans: list[RenderPlan] = Field(min_length=1)
    #: as :attr:`RenderPlan.cluster`, for the whole batch (the plans' own ``cluster`` is not used)
    cluster: str | None = None


class TrainRequest(_Content):
    """Fine-tune a LoRA on a dataset (DESIGN.md §6; docs/training.md). Also the trainer's whole config.

    ``data`` is a project folder, a folder of clips/images with masks and captions, or a VIVID-10M-style
    records file/folder. While it runs, the job streams ``progress`` (with ``metrics``: loss, lr) and, for
    every validation render, ``frame_ready`` with ``frame`` = the training step and ``path`` = the image.
    ``succeeded.result`` holds ``lora`` (the output path), ``steps`` and ``final_loss``.
    """

    data: AbsPathOrUnset
    model: str
    #: the LoRA file to write (``.safetensors``, diffusers/peft layout)
    output: AbsPathOrUnset
    #: checkpoints, latent cache, loss log and validation renders; default ``<output>.work``
    work_dir: AbsPath | None = None
    #: precomputed latents and caption embeddings, keyed by content (runs may share one); default
    #: ``<work_dir>/cache``
    cache_dir: AbsPath | None = None
    #: the loss log (JSON lines, one object per step); default ``<work_dir>/loss.jsonl``
    log: AbsPath | None = None
    steps: int = Field(default=1000, ge=1, le=10_000_000)
    rank: int = Field(default=64, ge=1, le=1024)
    #: LoRA alpha; None = the rank (scale 1)
    alpha: float | None = Field(default=None, gt=0, le=1e6)
    learning_rate: float = Field(default=1e-4, gt=0, le=1)
    lr_schedule: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = Field(default=50, ge=0, le=10_000_000)
    weight_decay: float = Field(default=1e-4, ge=0, le=10)
    max_grad_norm: float = Field(default=1.0, gt=0, le=1e6)
    batch_size: int = Field(default=1, ge=1, le=1024)
    seed: Seed = 0
    #: also put LoRA adapters on the feed-forward layers (attention projections always)
    train_ff: bool = False
    #: train the widened patch embedding fully: auto = only when the base model lacks the mask inputs
    train_patch_embed: Literal["auto", "always", "never"] = "auto"
    #: auto = bf16 on CUDA, fp32 on CPU
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    gradient_checkpointing: bool = True
    height: int = Field(default=480, ge=16, le=8192)
    width: int = Field(default=720, ge=16, le=8192)
    #: frames of a video sample (4k+1)
    num_frames: int = Field(default=49, ge=1, le=1025)
    #: image samples drawn per video sample (the paper trains on many more images than videos)
    image_video_ratio: float = Field(default=10.0, ge=0, le=1e6)
    #: frames of each clip also used as image samples
    image_frames_per_clip: int = Field(default=8, ge=0, le=100_000)
    #: share of steps that train deletion (a borrowed silhouette moved along the flow, fixed caption)
    deletion_share: float = Field(default=0.15, ge=0, le=1)
    checkpoint_every: int = Field(default=100, ge=1, le=10_000_000)
    keep_checkpoints: int = Field(default=3, ge=1, le=1000)
    #: validation renders every N steps (0 = never); inference steps of each render
    validate_every: int = Field(default=100, ge=0, le=10_000_000)
    validation_steps: int = Field(default=20, ge=1, le=1000)
    validation_guidance: float = Field(default=6.0, ge=1, le=100)
    #: ``val_loss`` every N steps (0 = never): the loss on the validation samples at fixed timesteps and
    #: fixed seeded noise, so every evaluation compares like with like
    val_loss_every: int = Field(default=100, ge=0, le=10_000_000)
    #: ``standard``: video samples are plain video edits; ``kive``: every video sample has a known first
    #: frame (its own original, mask 0 there), as the vivid engine conditions a KIVE window
    variant: Literal["standard", "kive"] = "standard"
    #: continue from the newest checkpoint in ``work_dir`` when there is one
    resume: bool = True
