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
    #: engine settings, e.g. ``cache_dir`` so tracking and propagation share one flow cache
    settings: dict[str, object] = Field(default_factory=dict)


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

    data: str
    model: str
    #: the LoRA file to write (``.safetensors``, diffusers/peft layout)
    output: str
    #: checkpoints, latent cache, loss log and validation renders; default ``<output>.work``
    work_dir: str | None = None
    #: precomputed latents and caption embeddings, keyed by content (runs may share one); default
    #: ``<work_dir>/cache``
    cache_dir: str | None = None
    #: the loss log (JSON lines, one object per step); default ``<work_dir>/loss.jsonl``
    log: str | None = None
    steps: int = Field(default=1000, ge=1)
    rank: int = Field(default=64, ge=1)
    #: LoRA alpha; None = the rank (scale 1)
    alpha: float | None = Field(default=None, gt=0)
    learning_rate: float = Field(default=1e-4, gt=0)
    lr_schedule: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = Field(default=50, ge=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=1, ge=1)
    seed: int = 0
    #: also put LoRA adapters on the feed-forward layers (attention projections always)
    train_ff: bool = False
    #: train the widened patch embedding fully: auto = only when the base model lacks the mask inputs
    train_patch_embed: Literal["auto", "always", "never"] = "auto"
    #: auto = bf16 on CUDA, fp32 on CPU
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    gradient_checkpointing: bool = True
    height: int = Field(default=480, ge=16)
    width: int = Field(default=720, ge=16)
    #: frames of a video sample (4k+1)
    num_frames: int = Field(default=49, ge=1)
    #: image samples drawn per video sample (the paper trains on many more images than videos)
    image_video_ratio: float = Field(default=10.0, ge=0)
    #: frames of each clip also used as image samples
    image_frames_per_clip: int = Field(default=8, ge=0)
    #: share of steps that train deletion (a borrowed silhouette moved along the flow, fixed caption)
    deletion_share: float = Field(default=0.15, ge=0, le=1)
    checkpoint_every: int = Field(default=100, ge=1)
    keep_checkpoints: int = Field(default=3, ge=1)
    #: validation renders every N steps (0 = never); inference steps of each render
    validate_every: int = Field(default=100, ge=0)
    validation_steps: int = Field(default=20, ge=1)
    validation_guidance: float = Field(default=6.0, ge=1)
    #: continue from the newest checkpoint in ``work_dir`` when there is one
    resume: bool = True
