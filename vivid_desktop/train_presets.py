"""Trainer presets by GPU memory: the settings each one implies (Qt-free, torch-free).

A preset sets :class:`~vivid_desktop.protocol.jobs.TrainRequest` fields. The trainer tab picks the one for
the runtime's GPU (the CPU preset on a machine without one), shows it and lets the user change any field
(the preset then reads "Custom"); ``vivid train`` fills every setting not given on the command line from
the machine's preset (``--preset`` picks another). The sizes follow the issue's budget:
the 5B model at 49×480×720 with cached latents, gradient checkpointing and rank 64 is meant to fit in
24 GB (measured figures: docs/benchmarks.md); more memory buys a larger batch and a higher rank, not a
different frame size, because the model was trained at 49×480×720 and generalises best there.

``offload`` is not a request field: the trainer always encodes every sample once (VAE latents and T5
embeddings cached on disk) and frees the text encoder before the first step, so only the transformer, its
LoRA and the optimizer state live on the GPU while training. It is shown so that the user sees why the
numbers fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: What every preset does with the encoders (see the module docstring).
OFFLOAD_NOTE = "T5 and VAE run once to cache latents and text, then leave the GPU"


@dataclass(frozen=True)
class TrainPreset:
    """A named set of trainer settings for a GPU memory size."""

    name: str
    memory_gb: int
    rank: int
    height: int
    width: int
    num_frames: int
    batch_size: int
    gradient_checkpointing: bool
    train_ff: bool
    offload: str = OFFLOAD_NOTE

    @property
    def label(self) -> str:
        return "CPU (no GPU: a small run to try it)" if self.memory_gb == 0 else f"{self.name} GPU"

    def fields(self) -> dict[str, Any]:
        """The ``TrainRequest`` fields this preset sets."""
        return {
            "rank": self.rank,
            "height": self.height,
            "width": self.width,
            "num_frames": self.num_frames,
            "batch_size": self.batch_size,
            "gradient_checkpointing": self.gradient_checkpointing,
            "train_ff": self.train_ff,
        }

    def describe(self) -> list[tuple[str, str]]:
        """``(label, value)`` rows for the tab's summary of the preset."""
        return [
            (
                "LoRA rank",
                f"{self.rank}" + (" (attention + feed-forward)" if self.train_ff else " (attention)"),
            ),
            ("Resolution", f"{self.width} × {self.height}"),
            ("Frames per video sample", str(self.num_frames)),
            ("Batch", str(self.batch_size)),
            ("Gradient checkpointing", "on" if self.gradient_checkpointing else "off"),
            ("Offload", self.offload),
        ]


PRESETS: tuple[TrainPreset, ...] = (
    TrainPreset("24 GB", 24, rank=64, height=480, width=720, num_frames=49, batch_size=1,
                gradient_checkpointing=True, train_ff=False),
    TrainPreset("48 GB", 48, rank=128, height=480, width=720, num_frames=49, batch_size=2,
                gradient_checkpointing=True, train_ff=True),
    TrainPreset("80 GB", 80, rank=128, height=480, width=720, num_frames=49, batch_size=4,
                gradient_checkpointing=True, train_ff=True),
)  # fmt: skip


#: For a machine without a GPU: small enough to run on the CPU (a check of the data and set-up, not a
#: useful LoRA of the 5B model).
CPU_PRESET = TrainPreset("CPU", 0, rank=16, height=240, width=368, num_frames=9, batch_size=1,
                         gradient_checkpointing=True, train_ff=False,
                         offload="everything on the CPU")  # fmt: skip
ALL_PRESETS = (CPU_PRESET, *PRESETS)


def preset_named(name: str) -> TrainPreset | None:
    return next((p for p in ALL_PRESETS if p.name == name), None)


def preset_id(preset: TrainPreset) -> str:
    """The command line's name of a preset: ``cpu``, ``24gb``, ``48gb``, ``80gb``."""
    return preset.name.lower().replace(" ", "")


def preset_by_id(key: str) -> TrainPreset | None:
    return next((p for p in ALL_PRESETS if preset_id(p) == key.lower()), None)


def machine_preset(gpu_memory: float | None) -> TrainPreset:
    """The preset for a machine: the CPU one without a GPU, else the largest that fits its memory (GiB)."""
    return CPU_PRESET if gpu_memory is None else preset_for_memory(gpu_memory)


def preset_for_memory(memory_gb: float | None) -> TrainPreset:
    """The largest preset that fits ``memory_gb`` (the smallest when unknown or smaller than all)."""
    if memory_gb is None:
        return PRESETS[0]
    # A card sold as "24 GB" reports a little less (e.g. 23.6 GiB): allow 5 % of slack.
    fitting = [p for p in PRESETS if p.memory_gb <= memory_gb * 1.05]
    return fitting[-1] if fitting else PRESETS[0]


def matching_preset(values: dict[str, Any]) -> TrainPreset | None:
    """The preset whose fields all equal ``values`` (None = the settings are custom)."""
    for preset in ALL_PRESETS:
        if all(values.get(k) == v for k, v in preset.fields().items()):
            return preset
    return None


def gpu_memory_gb(gpus: list[dict[str, Any]]) -> float | None:
    """The memory of the largest GPU in the runtime's facts (``memory_bytes`` per GPU), in GiB."""
    sizes = [float(g.get("memory_bytes", 0)) for g in gpus if g.get("memory_bytes")]
    return max(sizes) / 2**30 if sizes else None
