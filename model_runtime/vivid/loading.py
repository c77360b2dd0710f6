"""Load VIVID models from local folders: ``.safetensors`` only, never a pickle, never the network.

Three layouts (see :mod:`model_runtime.vivid.discovery` for how they are recognised):

(a) ``vivid`` — our checkpoint: diffusers layout, widened transformer, ``vivid.json`` with the
    conditioning settings it was trained with.
(b) ``adapter`` — ``vivid_adapter.json`` = ``{"base": <CogVideoX folder or cached repo id>,
    "patch_embed": "patch_embed.safetensors", "loras": [{"path": ..., "weight": 1.0}],
    "conditioning": {...}}``: the base transformer is widened (new inputs zero), then the widened
    patch-embedding weights (``patch_embed.proj.weight``/``.bias``) are loaded over it, then the LoRAs.
(c) ``fun-inp`` — CogVideoX-Fun V1.1 InP: same input layout (``noisy, mask, masked``), but its mask
    channel is ``1 − mask`` scaled by the VAE's scaling factor, trilinearly resampled, and V1.1 adds
    noise (0.0563) to the masked video (``add_noise_in_inpaint_model``). Its transformer config carries
    keys diffusers does not know and its weights may be sharded or prefixed; :func:`load_transformer`
    converts both. A plain ``base`` CogVideoX folder loads widened with zero weights (mask ignored).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from model_runtime.engines.base import EngineError
from model_runtime.vivid import discovery
from model_runtime.vivid.conditioning import FUN_INP, ConditioningConfig, noisy_offset, widen_patch_embedding
from model_runtime.vivid.lora import LoraSpec, parse_loras
from model_runtime.vivid.pipeline import SCHEDULERS, VividPipeline
from model_runtime.vivid.weights import (
    check_safetensors,
    convert_fun_state_dict,
    is_pickle,
    load_fun_transformer,
    refuse_pickles,
    weight_files,
)
from vivid_desktop.protocol.errors import ErrorCode

__all__ = ["LoadedModel", "convert_fun_state_dict", "load_model"]

Log = Callable[[str], None]


@dataclass
class LoadedModel:
    """A ready pipeline plus what the folder says about using it."""

    pipe: VividPipeline
    entry: discovery.ModelEntry
    conditioning: ConditioningConfig
    resolution: tuple[int, int] | None = None
    loras: list[LoraSpec] = field(default_factory=list)


def make_scheduler(root: Path, name: str | None):
    """The model's scheduler config with the class chosen by ``name`` (``dpm``/``ddim``; None = folder's)."""
    config = discovery.read_json(root / "scheduler" / "scheduler_config.json")
    if name is None:
        name = "ddim" if config.get("_class_name") == "CogVideoXDDIMScheduler" else "dpm"
    if name not in SCHEDULERS:
        raise EngineError(
            ErrorCode.BAD_SETTINGS, f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}"
        )
    return SCHEDULERS[name].from_config({k: v for k, v in config.items() if not k.startswith("_")})


def _components(root: Path, dtype: torch.dtype, log: Log, convert: bool):
    from diffusers.models.autoencoders.autoencoder_kl_cogvideox import AutoencoderKLCogVideoX
    from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXTransformer3DModel
    from transformers.models.auto.tokenization_auto import AutoTokenizer
    from transformers.models.t5.modeling_t5 import T5EncoderModel

    kw: dict[str, Any] = dict(torch_dtype=dtype, use_safetensors=True, local_files_only=True)
    has_text = (root / "text_encoder").is_dir()
    for part in ("transformer", "vae", *(("text_encoder",) if has_text else ())):
        weight_files(root / part)  # every file checked before a library opens it
    with _invalid("transformer"):
        if convert:
            transformer = load_fun_transformer(root / "transformer", dtype, log)
        else:
            transformer = CogVideoXTransformer3DModel.from_pretrained(root / "transformer", **kw)
    with _invalid("vae"):
        vae = AutoencoderKLCogVideoX.from_pretrained(root / "vae", **kw)
    text_encoder = tokenizer = None
    if has_text:
        with _invalid("text_encoder"):
            text_encoder = T5EncoderModel.from_pretrained(root / "text_encoder", **kw).eval()
        with _invalid("tokenizer"):
            tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer", local_files_only=True)
    return tokenizer, text_encoder, vae.eval(), transformer.eval()


@contextlib.contextmanager
def _invalid(part: str):
    """Turn a library's failure to read a component into ``model_invalid`` naming the part and reason."""
    try:
        yield
    except EngineError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, AttributeError, ImportError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise EngineError(ErrorCode.MODEL_INVALID, f"cannot load the model's {part}: {reason}") from None


def load_patch_embedding(transformer, path: Path) -> None:
    """Load our widened patch-embedding weights over a widened base transformer."""
    from safetensors.torch import load_file

    if is_pickle(path):
        raise EngineError(
            ErrorCode.PICKLE_REFUSED, f"{path.name} is a pickle file; VIVID loads .safetensors only"
        )
    check_safetensors(path)
    state = {k.removeprefix("patch_embed.").removeprefix("proj."): v for k, v in load_file(str(path)).items()}
    if "weight" not in state:
        raise EngineError(ErrorCode.MODEL_INVALID, f"{path.name} has no patch_embed.proj.weight")
    proj = transformer.patch_embed.proj
    for name in ("weight", "bias"):
        if name in state:
            target = getattr(proj, name)
            if target.shape != state[name].shape:
                raise EngineError(
                    ErrorCode.MODEL_INVALID,
                    f"{path.name}: {name} has shape {tuple(state[name].shape)}, "
                    f"the widened model needs {tuple(target.shape)}",
                )
            target.data.copy_(state[name].to(target.dtype))


def load_model(
    spec: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    scheduler: str | None = None,
    log: Log | None = None,
) -> LoadedModel:
    """Load any supported layout from a local folder (or a repo already in the HF cache)."""
    log = log or (lambda _message: None)
    try:
        root = discovery.resolve(spec)
    except FileNotFoundError as exc:
        raise EngineError(ErrorCode.MODEL_NOT_FOUND, str(exc)) from None
    try:
        entry = discovery.inspect_folder(root)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise EngineError(ErrorCode.MODEL_INVALID, f"{root}: cannot read its JSON files: {exc}") from None
    if entry is None:
        refuse_pickles(root / "transformer")
        raise EngineError(ErrorCode.MODEL_INVALID, f"{root} is not a CogVideoX/VIVID model folder")
    if entry.kind == "adapter":
        return _load_adapter(root, entry, dtype, scheduler, log)
    convert = entry.kind == "fun-inp"
    tokenizer, text_encoder, vae, transformer = _components(root, dtype, log, convert)
    channels = vae.config.latent_channels
    with _invalid("vivid.json conditioning"):
        cond = ConditioningConfig.from_dict(entry.details.get("conditioning"))  # type: ignore[arg-type]
    if entry.kind == "fun-inp":
        add_noise = discovery.read_json(root / "transformer" / "config.json").get(
            "add_noise_in_inpaint_model"
        )
        cond = cond.merged({**FUN_INP.to_dict(), "masked_noise": FUN_INP.masked_noise if add_noise else 0.0})
    elif entry.kind == "base":
        log("plain CogVideoX model: widened with zero input weights, so the mask is not used inside it")
        widen_patch_embedding(transformer, 2 * channels + 1, noisy_offset(cond.channel_order, channels))
    _check_channels(transformer, channels)
    pipe = VividPipeline(tokenizer, text_encoder, vae, transformer, make_scheduler(root, scheduler))
    pipe.conditioning = cond
    res = entry.details.get("resolution")
    return LoadedModel(pipe, entry, cond, tuple(res) if res else None)  # type: ignore[arg-type]  # JSON [w, h]


def _load_adapter(root: Path, entry, dtype, scheduler, log: Log) -> LoadedModel:
    meta = entry.details
    base_spec = str(meta.get("base", ""))
    base_path = root / base_spec if base_spec and (root / base_spec).exists() else base_spec
    base = load_model(base_path, dtype=dtype, scheduler=scheduler, log=lambda _m: None)
    cond = ConditioningConfig.from_dict(meta.get("conditioning"))
    pipe = base.pipe
    channels = pipe.vae.config.latent_channels
    if pipe.transformer.config.in_channels == channels:
        widen_patch_embedding(pipe.transformer, 2 * channels + 1, noisy_offset(cond.channel_order, channels))
    if meta.get("patch_embed"):
        load_patch_embedding(pipe.transformer, root / str(meta["patch_embed"]))
    pipe.conditioning = cond
    loras = parse_loras(meta.get("loras") or [], base_dir=root)
    res = meta.get("resolution") or base.resolution
    entry = discovery.ModelEntry(
        entry.name, str(root), "adapter", details={**meta, "base_path": str(base_path)}
    )
    log(f"adapter {entry.name}: base {base.entry.name}, {len(loras)} LoRA(s)")
    return LoadedModel(pipe, entry, cond, tuple(res) if res else None, loras)


def _check_channels(transformer, channels: int) -> None:
    cfg = transformer.config
    if cfg.in_channels != 2 * channels + 1 or cfg.out_channels != channels:
        raise EngineError(
            ErrorCode.MODEL_INVALID,
            f"transformer takes {cfg.in_channels} input channels; a VIVID model needs {2 * channels + 1} "
            f"(latents + mask + masked video)",
        )
    if getattr(cfg, "patch_size_t", None):
        raise EngineError(
            ErrorCode.UNSUPPORTED_MODEL, "CogVideoX 1.5 models (temporal patches) are not supported yet"
        )
