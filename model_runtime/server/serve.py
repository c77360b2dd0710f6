"""``vivid-runtime serve``: the runtime on a GPU server, for several editors over TLS (docs/studio.md).

TLS is required on any address but loopback (a plain loopback port is for an SSH tunnel). The token is
read from a file that only its owner may read; clients prove it before anything else is read. Uploads,
renders and caches live under ``--data``; models are found by name under ``--models``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from model_runtime.server.__main__ import LOG_MAX_BYTES, register_engines, setup_logging

log = logging.getLogger("vivid.runtime")

MIN_TOKEN_CHARS = 16


class ServeError(Exception):
    """A reason not to start, worded for the person starting it."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vivid-runtime serve",
        description="Serve the runtime to editors on other machines: TLS, a token, several editors.",
    )
    p.add_argument("--listen", required=True, metavar="HOST:PORT", help="address to listen on (port 0: any)")
    p.add_argument("--token-file", required=True, type=Path, metavar="FILE", help="the token (mode 0600)")
    p.add_argument("--tls-cert", type=Path, metavar="CERT", help="certificate chain (PEM)")
    p.add_argument("--tls-key", type=Path, metavar="KEY", help="private key (PEM)")
    p.add_argument("--data", type=Path, metavar="DIR", help="uploads, renders and caches (default: per user)")
    p.add_argument("--models", type=Path, metavar="DIR", help="model folders and LoRA files, found by name")
    p.add_argument("--port-file", type=Path, help="write the port listened on to this file")
    p.add_argument("--max-upload-gb", type=float, default=64.0, help="largest single upload (default 64)")
    p.add_argument(
        "--engine", action="append", default=[], metavar="NAME=MODULE:CLASS", help="register an extra engine"
    )
    p.add_argument(
        "--keep-days",
        type=float,
        default=14.0,
        metavar="DAYS",
        help="remove uploads, renders and caches unused for this many days (default 14; 0 keeps them)",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--log-file", type=Path, help="log here, rotating (default: standard error)")
    p.add_argument(
        "--log-max-bytes", type=int, default=LOG_MAX_BYTES, help="rotate the log file at this size"
    )
    return p


def read_token(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ServeError(f"cannot read the token file {path}: {exc}") from exc
    if os.name != "nt" and mode & 0o077:
        raise ServeError(f"the token file {path} is readable by others: chmod 600 {path}")
    if len(token) < MIN_TOKEN_CHARS:
        raise ServeError(f"the token in {path} is too short (at least {MIN_TOKEN_CHARS} characters)")
    return token


def _listener(args: argparse.Namespace):
    from model_runtime.server.gate import listen, server_tls_context
    from vivid_desktop.protocol.transport import Endpoint

    tls = None
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ServeError("--tls-cert and --tls-key go together")
    try:
        endpoint = Endpoint.parse(args.listen, "tls" if args.tls_cert else "tcp")
    except ValueError as exc:
        raise ServeError(str(exc)) from None
    if endpoint.kind == "tcp" and not endpoint.is_loopback():
        raise ServeError(
            f"TLS is required on {endpoint.host} (not a loopback address): pass --tls-cert and --tls-key"
        )
    if args.tls_cert is not None:
        try:
            tls = server_tls_context(args.tls_cert, args.tls_key)
        except (OSError, ValueError) as exc:
            raise ServeError(f"cannot load the certificate or key: {exc}") from exc
    try:
        return listen(endpoint, tls)
    except OSError as exc:
        raise ServeError(f"cannot listen on {endpoint}: {exc.strerror or exc}") from exc


def _data_folder(args: argparse.Namespace) -> Path:
    if args.data is not None:
        return args.data
    import platformdirs

    return Path(platformdirs.user_data_dir("vivid-runtime")) / "server"


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_file, args.log_max_bytes)
    try:
        token = read_token(args.token_file)
        listener = _listener(args)
    except ServeError as exc:
        print(f"vivid-runtime serve: {exc}", file=sys.stderr)
        return 2
    from model_runtime.server.app import RuntimeServer
    from model_runtime.server.remote import RemoteRules
    from model_runtime.server.retention import keep_pruning
    from model_runtime.server.uploads import ServerFiles
    from vivid_desktop.protocol.uploads import UPLOADS_FEATURE
    from vivid_desktop.protocol.version import FEATURES

    register_engines(args.engine)
    files = ServerFiles(_data_folder(args), int(args.max_upload_gb * (1 << 30)))
    rules = RemoteRules(files, args.models)
    server = RuntimeServer(token, features=(*FEATURES, UPLOADS_FEATURE))
    server.on_session = rules.attach
    stop = threading.Event()
    keep_pruning(files, args.keep_days, stop)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.port_file is not None:
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(str(listener.endpoint.port))
        os.replace(tmp, args.port_file)
    kind = "TLS" if listener.tls is not None else "plain TCP, loopback only"
    print(
        f"vivid-runtime serve: listening on {listener.endpoint} ({kind}); data in {files.data}",
        file=sys.stderr,
    )
    return server.serve_remote(listener, stop)
