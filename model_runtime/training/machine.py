"""Settings that follow the machine: what ``vivid train`` leaves unset comes from the machine's preset.

``vivid train`` never imports torch, so it cannot see the GPU; it writes only the settings the user gave
and this process, which runs on the machine that trains, fills the rest from
:func:`vivid_desktop.train_presets.machine_preset`: the CPU preset without a GPU (a small run that
finishes), the preset for the GPU's memory with one. A request that names every field (the editor's, or
an older ``request.json``) is left as it is.
"""

from __future__ import annotations

from typing import Any

from vivid_desktop.train_presets import ALL_PRESETS, TrainPreset, machine_preset

#: the fields a preset sets (the same for every preset)
PRESET_FIELDS = frozenset(ALL_PRESETS[0].fields())


def gpu_memory_gib() -> float | None:
    """The memory of the largest CUDA GPU in GiB, None without one (imports torch)."""
    import torch

    if not torch.cuda.is_available():
        return None
    sizes = [torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count())]
    return max(sizes) / 2**30


def with_machine_defaults(
    raw: dict[str, Any], gpu_memory: float | None
) -> tuple[dict[str, Any], TrainPreset, list[str]]:
    """``raw`` with the preset's values for the fields it lacks; the preset and the fields it filled."""
    preset = machine_preset(gpu_memory)
    filled = {k: v for k, v in preset.fields().items() if k not in raw}
    return {**filled, **raw}, preset, sorted(filled)


def needs_machine(raw: dict[str, Any]) -> bool:
    return not raw.keys() >= PRESET_FIELDS
