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

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model_runtime.engines.base import EngineError
from model_runtime.vivid import discovery
from model_runtime.vivid.conditioning import FUN_INP, ConditioningConfig, noisy_offset, widen_patch_embedding
from model_runtime.vivid.lora import LoraSpec, parse_loras
from model_runtime.vivid.pipeline import SCHEDULERS, VividPipeline
from vivid_desktop.protocol.errors import ErrorCode

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
#: Prefixes that training wrappers put in front of transformer keys (DDP, torch.compile, Fun's scripts).
KEY_PREFIXES = ("module.", "_orig_mod.", "transformer.", "model.diffusion_model.", "model.")

Log = Callable[[str], None]


@dataclass
class LoadedModel:
    """A ready pipeline plus what the folder says about using it."""

    pipe: VividPipeline
    entry: discovery.ModelEntry
    conditioning: ConditioningConfig
    resolution: tuple[int, int] | None = None
    loras: list[LoraSpec] = field(default_factory=list)


def refuse_pickles(folder: Path) -> None:
    """Raise a clear error when ``folder`` holds weights only as pickle files."""
    if not folder.is_dir():
        return
    if any(folder.glob("*.safetensors")):
        return
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise EngineError(
            ErrorCode.PICKLE_REFUSED,
            f"{folder} holds weights only as pickle files ({', '.join(pickles)}). VIVID loads .safetensors "
            "only, because a pickle can run code when it is opened. Convert the weights to .safetensors "
            "with a tool you trust, then load the folder again.",
        )


def read_safetensors_folder(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of a component folder (one file or shards with an index)."""
    from safetensors.torch import load_file

    refuse_pickles(folder)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise EngineError(ErrorCode.MODEL_INVALID, f"{folder} has no .safetensors weights")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(str(f)))
    return state


def convert_fun_state_dict(
    state: dict[str, torch.Tensor], expected: set[str], log: Log
) -> dict[str, torch.Tensor]:
    """Map a CogVideoX-Fun transformer state dict onto diffusers' key names.

    Fun's ``CogVideoXTransformer3DModel`` is a copy of diffusers' with the same module names; its training
    scripts may add wrapper prefixes, and some variants carry extra modules we do not use (dropped, logged).
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        changed = True
        while changed and name not in expected:
            changed = False
            for prefix in KEY_PREFIXES:
                if name.startswith(prefix):
                    name, changed = name[len(prefix) :], True
                    break
        out[name] = value
    extra = sorted(set(out) - expected)
    if extra:
        log(f"ignoring {len(extra)} transformer weights this model does not use: {', '.join(extra[:5])}")
    missing = sorted(expected - set(out))
    if missing:
        raise EngineError(ErrorCode.MODEL_INVALID, f"transformer weights missing: {', '.join(missing[:5])}")
    return {k: v for k, v in out.items() if k in expected}


def load_transformer(folder: Path, dtype: torch.dtype, log: Log, convert: bool = False):
    """Load a transformer; ``convert`` builds it from a filtered config and converts keys (Fun layout)."""
    from diffusers import CogVideoXTransformer3DModel

    refuse_pickles(folder)
    if not convert:
        return CogVideoXTransformer3DModel.from_pretrained(
            folder, torch_dtype=dtype, use_safetensors=True, local_files_only=True
        )
    config = discovery.read_json(folder / "config.json")
    accepted = set(inspect.signature(CogVideoXTransformer3DModel.__init__).parameters) - {"self"}
    dropped = sorted(k for k in config if k not in accepted and not k.startswith("_"))
    if dropped:
        log(f"transformer config keys not used by diffusers: {', '.join(dropped)}")
    model = CogVideoXTransformer3DModel(**{k: v for k, v in config.items() if k in accepted})
    expected = set(model.state_dict())
    state = convert_fun_state_dict(read_safetensors_folder(folder), expected, log)
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval()


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
    from diffusers import AutoencoderKLCogVideoX
    from transformers import AutoTokenizer, T5EncoderModel

    for part in ("transformer", "vae", "text_encoder"):
        refuse_pickles(root / part)
    transformer = load_transformer(root / "transformer", dtype, log, convert=convert)
    vae = AutoencoderKLCogVideoX.from_pretrained(
        root / "vae", torch_dtype=dtype, use_safetensors=True, local_files_only=True
    )
    text_encoder = tokenizer = None
    if (root / "text_encoder").is_dir():
        text_encoder = T5EncoderModel.from_pretrained(
            root / "text_encoder", torch_dtype=dtype, use_safetensors=True, local_files_only=True
        ).eval()
        tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer", local_files_only=True)
    return tokenizer, text_encoder, vae.eval(), transformer.eval()


def load_patch_embedding(transformer, path: Path) -> None:
    """Load our widened patch-embedding weights over a widened base transformer."""
    from safetensors.torch import load_file

    if path.suffix in PICKLE_SUFFIXES:
        raise EngineError(
            ErrorCode.PICKLE_REFUSED, f"{path.name} is a pickle file; VIVID loads .safetensors only"
        )
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
    entry = discovery.inspect_folder(root)
    if entry is None:
        refuse_pickles(root / "transformer")
        raise EngineError(ErrorCode.MODEL_INVALID, f"{root} is not a CogVideoX/VIVID model folder")
    if entry.kind == "adapter":
        return _load_adapter(root, entry, dtype, scheduler, log)
    convert = entry.kind == "fun-inp"
    tokenizer, text_encoder, vae, transformer = _components(root, dtype, log, convert)
    channels = vae.config.latent_channels
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
    return LoadedModel(pipe, entry, cond, tuple(res) if res else None)  # type: ignore[arg-type]


def _load_adapter(root: Path, entry, dtype, scheduler, log: Log) -> LoadedModel:
    meta = entry.details
    base_spec = str(meta.get("base", ""))
    base_path = root / base_spec if base_spec and (root / base_spec).exists() else base_spec
    base = load_model(base_path, dtype=dtype, scheduler=scheduler, log=lambda _m: None)
    cond = ConditioningConfig.from_dict(meta.get("conditioning"))  # type: ignore[arg-type]
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
    return LoadedModel(pipe, entry, cond, tuple(res) if res else None, loras)  # type: ignore[arg-type]


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
