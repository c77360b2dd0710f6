"""Peak RAM while loading a CogVideoX-Fun transformer checkpoint (random weights, 5B width).

    python benchmarks/vivid_load_ram.py [--gb 2] [--dtype bf16] [--layers N] [--keep DIR]

Writes a sharded Fun-layout transformer folder (48 heads × 64, text dim 4096, 33 input channels; as many
layers as fit ``--gb``, or ``--layers``; 42 is the real 5B at ≈ 11 GB in bf16), then loads it in fresh
processes through ``model_runtime.vivid.weights.load_fun_transformer``: once with diffusers' key names
(``from_pretrained``) and once with training prefixes (shard-by-shard assign). Each load reports the
peak resident memory above the process's baseline (``VmHWM − VmRSS`` before loading), which counts the
file pages mapped while reading; then every weight is touched (a lazily mapped tensor counts only once
read) and the peak is read again. Prints JSON; the goal is ≤ 1.2 × the weights' size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = {
    "_class_name": "CogVideoXTransformer3DModel",
    "num_attention_heads": 48,
    "attention_head_dim": 64,
    "in_channels": 33,
    "out_channels": 16,
    "text_embed_dim": 4096,
    "time_embed_dim": 512,
    "ofs_embed_dim": None,
    "use_rotary_positional_embeddings": True,
    "use_learned_positional_embeddings": False,
    "add_noise_in_inpaint_model": True,  # a Fun key diffusers does not know
}
SHARD_BYTES = 1 << 30
BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def write(folder: Path, layers: int, dtype: str, prefixed: bool) -> int:
    """Write random shards; returns the weights' size in bytes."""
    import torch
    from diffusers import CogVideoXTransformer3DModel
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = {**CONFIG, "num_layers": layers}
    (folder / "config.json").write_text(json.dumps(config))
    with torch.device("meta"):
        model = CogVideoXTransformer3DModel(
            **{k: v for k, v in config.items() if not k.startswith(("_", "add"))}
        )
    tdtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
    gen = torch.Generator().manual_seed(0)
    shard: dict[str, torch.Tensor] = {}
    weight_map: dict[str, str] = {}
    size = total = index = 0
    items = list(model.state_dict().items())
    for i, (name, meta) in enumerate(items):
        shard[("module." if prefixed else "") + name] = (torch.randn(meta.shape, generator=gen) * 0.02).to(
            tdtype
        )
        size += meta.numel() * BYTES[dtype]
        if size >= SHARD_BYTES or i == len(items) - 1:
            index += 1
            file = f"diffusion_pytorch_model-{index:05d}.safetensors"
            save_file(shard, str(folder / file))
            weight_map.update(dict.fromkeys(shard, file))
            total, shard, size = total + size, {}, 0
    index_file = folder / "diffusion_pytorch_model.safetensors.index.json"
    index_file.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return total


def load(folder: Path, dtype: str) -> dict[str, float]:
    import torch

    from model_runtime.vivid.weights import load_fun_transformer

    base = _status("VmRSS")
    start = time.perf_counter()
    model = load_fun_transformer(
        folder, {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype], lambda _m: None
    )
    seconds = time.perf_counter() - start
    loaded = _status("VmHWM") - base
    weights = 0
    with torch.no_grad():  # fault every weight in: tensors may still be lazily mapped from the files
        for p in model.parameters():
            weights += p.numel() * p.element_size()
            p.view(-1)[:: max(1, 4096 // p.element_size())].float().sum()
    return {
        "seconds": round(seconds, 2),
        "weights_bytes": weights,
        "after_load": loaded,
        "peak_above_baseline": _status("VmHWM") - base,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--dtype", default="bf16", choices=sorted(BYTES))
    ap.add_argument("--keep", type=Path, help="write the checkpoints here and keep them")
    ap.add_argument("--child", nargs=3, metavar=("ACTION", "DIR", "ARG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        action, folder, arg = args.child
        if action == "write":
            print(json.dumps(write(Path(folder), int(arg), args.dtype, prefixed=folder.endswith("prefixed"))))
        else:
            print(json.dumps(load(Path(folder), arg)))
        return
    per_layer = 12 * 3072 * 3072 * BYTES[args.dtype]  # attention + feed-forward of one block, roughly
    layers = args.layers or max(1, round(args.gb * 2**30 / per_layer))
    root = args.keep or Path(tempfile.mkdtemp(prefix="vivid-load-ram-"))
    result: dict[str, object] = {"layers": layers, "dtype": args.dtype}
    try:
        for variant in ("diffusers", "prefixed"):
            folder = root / variant
            run = [sys.executable, __file__, "--dtype", args.dtype, "--child"]
            written = json.loads(subprocess.check_output([*run, "write", str(folder), str(layers)]))
            loaded = json.loads(subprocess.check_output([*run, "load", str(folder), args.dtype]))
            result[variant] = {
                "weights_gb": round(written / 2**30, 3),
                "peak_gb_after_load": round(loaded["after_load"] / 2**30, 3),
                "peak_gb": round(loaded["peak_above_baseline"] / 2**30, 3),
                "ratio": round(loaded["peak_above_baseline"] / written, 3),
                "seconds": loaded["seconds"],
            }
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
