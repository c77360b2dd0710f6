"""Weight files: refuse pickles, check ``.safetensors`` before loading, load transformers lean.

Every weight file is checked before a library opens it, so a user's broken download gets one line that
says which file and why (``model_invalid``), and a pickle is never opened (``pickle_refused``). Suffixes
are compared case-insensitively (``MODEL.BIN`` is a pickle too).

Transformers are built on the meta device and filled from the files (diffusers' ``from_pretrained``, or
shard by shard for Fun checkpoints whose keys carry training prefixes), so loading holds about one copy
of the weights, not a random fp32 model plus every shard.
"""

from __future__ import annotations

import inspect
import json
import struct
from collections.abc import Callable
from pathlib import Path

import torch

from model_runtime.engines.base import EngineError
from vivid_desktop.protocol.errors import ErrorCode

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
#: Prefixes that training wrappers put in front of transformer keys (DDP, torch.compile, Fun's scripts).
KEY_PREFIXES = ("module.", "_orig_mod.", "transformer.", "model.diffusion_model.", "model.")
_DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2"}

Log = Callable[[str], None]


def is_pickle(path: Path) -> bool:
    return path.suffix.lower() in PICKLE_SUFFIXES


def is_safetensors(path: Path) -> bool:
    return path.suffix.lower() == ".safetensors"


def refuse_pickles(folder: Path) -> None:
    """Raise a clear error when ``folder`` holds weights only as pickle files."""
    if not folder.is_dir():
        return
    files = [p for p in folder.iterdir() if p.is_file()]
    if any(is_safetensors(p) for p in files):
        return
    pickles = sorted(p.name for p in files if is_pickle(p))
    if pickles:
        raise EngineError(
            ErrorCode.PICKLE_REFUSED,
            f"{folder} holds weights only as pickle files ({', '.join(pickles)}). VIVID loads .safetensors "
            "only, because a pickle can run code when it is opened. Convert the weights to .safetensors "
            "with a tool you trust, then load the folder again.",
        )


def check_safetensors(path: Path) -> dict[str, dict]:
    """The tensor table of a ``.safetensors`` file, or ``model_invalid`` saying what is wrong with it."""

    def bad(reason: str) -> EngineError:
        return EngineError(ErrorCode.MODEL_INVALID, f"{path.name} is not a valid .safetensors file: {reason}")

    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise bad("shorter than its 8-byte header length")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, 100_000_000):
                raise bad(f"header length {n} does not fit the file ({size} bytes)")
            header = json.loads(fh.read(n))
    except OSError as exc:
        raise EngineError(
            ErrorCode.MODEL_INVALID, f"cannot read {path.name}: {exc.strerror or exc}"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise bad("its header is not JSON (a pickle or another format renamed?)") from None
    if not isinstance(header, dict):
        raise bad("its header is not a table of tensors")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    end = 0
    for name, info in tensors.items():
        if not isinstance(info, dict) or info.get("dtype") not in _DTYPES or "data_offsets" not in info:
            raise bad(f"tensor {name!r} has no valid dtype/offsets")
        end = max(end, int(info["data_offsets"][1]))
    if 8 + n + end > size:
        raise bad(f"truncated: the tensors need {8 + n + end} bytes, the file has {size}")
    return tensors


def weight_files(folder: Path) -> list[Path]:
    """The checked ``.safetensors`` files of a component folder (refusing pickle-only folders)."""
    refuse_pickles(folder)
    found = folder.iterdir() if folder.is_dir() else ()
    files = sorted(p for p in found if p.is_file() and is_safetensors(p))
    if not files:
        raise EngineError(ErrorCode.MODEL_INVALID, f"{folder} has no .safetensors weights")
    for f in files:
        check_safetensors(f)
    return files


def strip_prefixes(key: str, expected: set[str]) -> str:
    """``key`` without the training-wrapper prefixes in front of a diffusers module name."""
    name = key
    while name not in expected:
        prefix = next((p for p in KEY_PREFIXES if name.startswith(p)), None)
        if prefix is None:
            break
        name = name[len(prefix) :]
    return name


def convert_fun_state_dict(
    state: dict[str, torch.Tensor], expected: set[str], log: Log
) -> dict[str, torch.Tensor]:
    """Map a CogVideoX-Fun transformer state dict onto diffusers' key names (extra keys dropped, logged)."""
    out = {strip_prefixes(k, expected): v for k, v in state.items()}
    _report(set(out), expected, log)
    return {k: v for k, v in out.items() if k in expected}


def _report(found: set[str], expected: set[str], log: Log) -> None:
    extra = sorted(found - expected)
    if extra:
        log(f"ignoring {len(extra)} transformer weights this model does not use: {', '.join(extra[:5])}")
    missing = sorted(expected - found)
    if missing:
        raise EngineError(ErrorCode.MODEL_INVALID, f"transformer weights missing: {', '.join(missing[:5])}")


def transformer_config(folder: Path, log: Log) -> dict[str, object]:
    """The transformer's ``config.json`` with only the keys diffusers' class accepts (Fun adds more)."""
    from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXTransformer3DModel

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(
            ErrorCode.MODEL_INVALID, f"{folder / 'config.json'} cannot be read: {exc}"
        ) from None
    if not isinstance(config, dict):
        raise EngineError(ErrorCode.MODEL_INVALID, f"{folder / 'config.json'} is not a JSON object")
    accepted = set(inspect.signature(CogVideoXTransformer3DModel.__init__).parameters) - {"self"}
    dropped = sorted(k for k in config if k not in accepted and not k.startswith("_"))
    if dropped:
        log(f"transformer config keys not used by diffusers: {', '.join(dropped)}")
    return {k: v for k, v in config.items() if k in accepted}


def load_fun_transformer(folder: Path, dtype: torch.dtype, log: Log):
    """A CogVideoX-Fun transformer: meta-device init, then filled from the files.

    Keys already in diffusers' names and diffusers' file names (one file, or shards with an index) go
    through ``from_pretrained``; anything else (prefixed keys from training wrappers, shards without an
    index) is renamed and assigned shard by shard, each tensor cast to ``dtype`` as it is read.
    """
    from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXTransformer3DModel
    from safetensors import safe_open

    files = weight_files(folder)
    config = transformer_config(folder, log)
    with torch.device("meta"):
        model = CogVideoXTransformer3DModel(**config)
    expected = set(model.state_dict())
    keys = {k: f for f in files for k in check_safetensors(f)}
    name = "diffusion_pytorch_model.safetensors"
    standard = (folder / name).is_file() or (folder / f"{name}.index.json").is_file()
    if standard and expected <= set(keys):
        _report(set(keys), expected, log)
        return CogVideoXTransformer3DModel.from_pretrained(
            folder, torch_dtype=dtype, use_safetensors=True, local_files_only=True, low_cpu_mem_usage=True
        ).eval()
    renamed = {strip_prefixes(k, expected): k for k in keys}
    _report(set(renamed), expected, log)
    for f in files:
        state: dict[str, torch.Tensor] = {}
        with safe_open(str(f), framework="pt") as fh:
            for key in fh.keys():  # noqa: SIM118 (safe_open is not a dict)
                name = strip_prefixes(key, expected)
                if name in expected:
                    state[name] = fh.get_tensor(key).to(dtype)
        model.load_state_dict(state, strict=False, assign=True)
        del state
    _materialize_buffers(model, dtype)
    return model.eval()


def _materialize_buffers(model, dtype: torch.dtype) -> None:
    """Recompute the non-persistent buffers a meta-device init left empty (sinusoidal positions)."""
    embed = model.patch_embed
    pos = getattr(embed, "pos_embedding", None)
    if pos is not None and pos.is_meta:
        fresh = embed._get_positional_embeddings(embed.sample_height, embed.sample_width, embed.sample_frames)
        embed.register_buffer("pos_embedding", fresh.to(dtype), persistent=False)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise EngineError(ErrorCode.MODEL_INVALID, f"transformer weights missing: {', '.join(left[:5])}")
