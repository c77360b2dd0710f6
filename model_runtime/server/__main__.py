"""``vivid-runtime`` / ``python -m model_runtime.server``: start the runtime process.

Two modes:

- the editor's own runtime (what the client starts): ``--socket PATH`` (a Unix socket in a 0700 folder) or
  ``--port-file PATH`` (TCP on 127.0.0.1, port chosen by the system and written to PATH). The per-launch
  secret comes on standard input (first line) — never on the command line, where other users could read
  it. ``VIVID_RUNTIME_SECRET`` in the environment is accepted for manual runs.
- ``vivid-runtime serve --listen HOST:PORT --token-file FILE --tls-cert C --tls-key K``: a runtime on a
  GPU server for several editors (docs/studio.md). TLS is required on any address but loopback.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from pathlib import Path

SECRET_ENV = "VIVID_RUNTIME_SECRET"
#: The runtime's log rotates: junk from a client cannot fill the disk.
LOG_MAX_BYTES = 8 * 1024 * 1024
LOG_BACKUPS = 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="NAME=MODULE:CLASS",
        help="register an extra engine (module path or file.py path); repeatable",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-file", type=Path, help="log here, rotating (default: standard error)")
    parser.add_argument(
        "--log-max-bytes", type=int, default=LOG_MAX_BYTES, help="rotate the log file at this size"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vivid-runtime", description="The VIVID Desktop runtime process.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", type=Path, help="Unix socket path (in a 0700 folder)")
    where.add_argument(
        "--port-file", type=Path, help="listen on 127.0.0.1 (TCP) and write the port to this file"
    )
    parser.add_argument("--accept-timeout", type=float, default=30.0, help="seconds to wait for the client")
    _common(parser)
    return parser


def setup_logging(level: str, log_file: Path | None, max_bytes: int = LOG_MAX_BYTES) -> None:
    handler: logging.Handler
    if log_file is not None:
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max(1024, max_bytes), backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def read_secret() -> str:
    """The secret from the environment or the first line of standard input."""
    secret = os.environ.pop(SECRET_ENV, "")
    if not secret and sys.stdin is not None:
        secret = sys.stdin.readline().strip()
    if not secret:
        raise SystemExit("vivid-runtime: no secret on standard input")
    return secret


def register_engines(specs: list[str]) -> None:
    from model_runtime.engines import register_engine

    for spec in specs:
        name, _, target = spec.partition("=")
        register_engine(name, target)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        from model_runtime.server.serve import main as serve_main

        return serve_main(argv[1:])
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_file, args.log_max_bytes)
    secret = read_secret()
    from model_runtime.server.app import RuntimeServer
    from model_runtime.server.gate import listen
    from vivid_desktop.protocol.transport import Endpoint

    register_engines(args.engine)
    server = RuntimeServer(secret)
    if args.socket is not None:
        listener = listen(Endpoint("unix", path=args.socket))
    else:
        listener = listen(Endpoint("tcp"))
        _write_port(args.port_file, listener.endpoint.port)
    return server.serve_local(listener, args.accept_timeout)


def _write_port(path: Path, port: int) -> None:
    """Atomically (the client polls for the file), in the client's private folder."""
    if path.parent.stat().st_mode & 0o077 and os.name != "nt":
        raise SystemExit(f"vivid-runtime: port file folder {path.parent} must be private (0700)")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(str(port))
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
