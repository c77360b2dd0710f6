"""``vivid-runtime`` / ``python -m model_runtime.server``: start the runtime process.

The client creates a private folder (0700), chooses the socket path in it, and passes the per-launch
secret on the runtime's standard input (first line) — never on the command line, where other users could
read it. ``VIVID_RUNTIME_SECRET`` in the environment is accepted for manual runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

SECRET_ENV = "VIVID_RUNTIME_SECRET"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vivid-runtime", description="The VIVID Desktop runtime process.")
    parser.add_argument("--socket", required=True, type=Path, help="Unix socket path (in a 0700 folder)")
    parser.add_argument("--accept-timeout", type=float, default=30.0, help="seconds to wait for the client")
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="NAME=MODULE:CLASS",
        help="register an extra engine (module path or file.py path); repeatable",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def read_secret() -> str:
    """The secret from the environment or the first line of standard input."""
    secret = os.environ.pop(SECRET_ENV, "")
    if not secret and sys.stdin is not None:
        secret = sys.stdin.readline().strip()
    if not secret:
        raise SystemExit("vivid-runtime: no secret on standard input")
    return secret


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    secret = read_secret()
    from model_runtime.engines import register_engine
    from model_runtime.server.app import RuntimeServer, listen

    for spec in args.engine:
        name, _, target = spec.partition("=")
        register_engine(name, target)
    server = RuntimeServer(secret)
    listener = listen(args.socket)
    return server.serve(listener, args.socket, args.accept_timeout)


if __name__ == "__main__":
    sys.exit(main())
