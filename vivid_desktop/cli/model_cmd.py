"""``vivid model tiny DIR`` (write a tiny seeded VIVID model) and ``vivid model list`` (models on disk).

Both run ``python -m model_runtime.vivid`` in a subprocess: writing a model needs torch, which the GUI
side never imports, and listing uses the runtime's own discovery rules (local folders and the Hugging Face
cache, offline) so the command line sees exactly what the runtime will load.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from vivid_desktop.system.extras import require


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid model tiny`` and ``vivid model list`` to the ``vivid`` command."""
    p = sub.add_parser("model", help="VIVID models: write a tiny test model, list models on disk")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    t = msub.add_parser(
        "tiny",
        help="write a tiny seeded VIVID model (for tests, demos and bug reports)",
        description="Write a tiny, seeded VIVID checkpoint (random weights, 32×32 frames) in the vivid "
        "folder format into DIR. It loads and runs like a real model, in seconds on a CPU.",
    )
    t.add_argument("dir", metavar="DIR")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--adapter", action="store_true", help="write a base model + patch embedding + LoRA instead"
    )
    t.set_defaults(func=run_tiny)

    ls = msub.add_parser(
        "list",
        help="list VIVID/CogVideoX models and LoRAs in folders and the local Hugging Face cache",
        description="List models (our format, adapters, CogVideoX-Fun InP, plain CogVideoX) and LoRA files "
        "in each DIR (and its direct sub-folders), in VIVID_MODEL_DIRS, and in the local Hugging Face cache. "
        "Nothing is downloaded.",
    )
    ls.add_argument(
        "--dir", action="append", default=[], metavar="DIR", help="a folder to search; repeatable"
    )
    ls.add_argument("--no-hf-cache", action="store_true", help="do not look in the Hugging Face cache")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)


def _runtime(args: list[str]) -> int:
    cmd = [sys.executable, "-m", "model_runtime.vivid", *args]
    try:
        done = subprocess.run(cmd, check=False)
    except OSError as exc:
        print(f"vivid model: cannot start the runtime's Python: {exc}", file=sys.stderr)
        return 1
    return 0 if done.returncode == 0 else 1


def run_tiny(args: argparse.Namespace) -> int:
    require("model", "writing a model")
    extra = ["--adapter"] if args.adapter else []
    return _runtime(["tiny", str(args.dir), "--seed", str(args.seed), *extra])


def run_list(args: argparse.Namespace) -> int:
    extra: list[str] = []
    for d in args.dir:
        extra += ["--dir", str(d)]
    if args.no_hf_cache:
        extra.append("--no-hf-cache")
    if args.json:
        extra.append("--json")
    return _runtime(["list", *extra])
