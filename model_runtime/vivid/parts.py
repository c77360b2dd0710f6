"""Typed access to the parts of diffusers models that mypy cannot follow.

torch types every submodule reached by attribute (``Module.__getattr__``) as ``Tensor | Module``, and a
diffusers model's ``config`` is a frozen dict read by attribute (``config.in_channels``), annotated as a
plain dict. These helpers name what the parts are, in one place, so the code using them stays checked.
"""

from __future__ import annotations

from typing import Any, cast

import torch

#: the patch embedding's input projection: Conv2d (CogVideoX 1.0) or Linear over ``C × p_t × p × p`` (1.5)
PatchProjection = torch.nn.Conv2d | torch.nn.Linear


def config(model: torch.nn.Module) -> Any:
    """A diffusers model's config (``config.in_channels`` …)."""
    return cast(Any, model).config


def patch_projection(transformer: torch.nn.Module) -> PatchProjection:
    """The transformer's ``patch_embed.proj``."""
    return cast(PatchProjection, transformer.get_submodule("patch_embed.proj"))


def set_patch_projection(transformer: torch.nn.Module, proj: PatchProjection) -> None:
    """Replace the transformer's ``patch_embed.proj`` (a widened one)."""
    transformer.get_submodule("patch_embed").proj = proj
