"""``python -m model_runtime.vivid``: model chores run in the runtime's environment.

``tiny DIR [--seed N] [--adapter]`` writes a tiny seeded model (our format, or layout (b));
``list [--dir D ...] [--no-hf-cache] [--json]`` lists models and LoRAs found on disk (offline).
The GUI-side ``vivid model`` command runs this module in a subprocess, because the GUI process never
imports torch.
"""

from __future__ import annotations

import argparse
import json
import sys

from model_runtime.vivid import discovery


def _tiny(args: argparse.Namespace) -> int:
    from model_runtime.vivid.tiny import write_tiny_adapter, write_tiny_model

    write = write_tiny_adapter if args.adapter else write_tiny_model
    path = write(args.dir, seed=args.seed)
    print(path)
    return 0


def _list(args: argparse.Namespace) -> int:
    entries = discovery.discover(
        list(args.dir) + discovery.model_dirs_from_env(), include_hf_cache=not args.no_hf_cache
    )
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return 0
    if not entries:
        print("no models found")
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:
        print(f"{e.name:<{width}}  {e.kind:<8} {e.source:<9} {e.path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model_runtime.vivid")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tiny", help="write a tiny seeded model")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--adapter", action="store_true", help="write layout (b): base + patch embedding + LoRA")
    p.set_defaults(func=_tiny)
    p = sub.add_parser("list", help="list models and LoRAs on disk")
    p.add_argument("--dir", action="append", default=[])
    p.add_argument("--no-hf-cache", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
