"""``vivid``: the command line. Each sub-command lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

#: Modules that add sub-commands, in the order ``vivid --help`` lists them.
COMMAND_MODULES = (
    "vivid_desktop.cli.media_cmds",  # probe, proxy
    "vivid_desktop.cli.export_cmd",  # export
    "vivid_desktop.cli.edit_cmd",  # edit
    "vivid_desktop.cli.preview_cmd",  # preview
    "vivid_desktop.cli.track_cmd",  # track
    "vivid_desktop.cli.batch_cmd",  # batch
    "vivid_desktop.cli.model_cmd",  # model tiny / model list
    "vivid_desktop.cli.train_cmd",  # train
    "vivid_desktop.cli.doctor_cmd",  # doctor
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vivid", description="VIVID Desktop on the command line.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    from vivid_desktop import __version__

    return f"vivid {__version__}"


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure ends with a one-line reason and a non-zero exit."""
    from vivid_desktop.system.extras import MissingExtra

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MissingExtra as exc:
        print(f"vivid {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vivid: cancelled", file=sys.stderr)
        return 130
    except Exception as exc:  # the last net: commands report their known errors themselves
        if os.environ.get("VIVID_DEBUG"):
            raise
        print(f"vivid {args.command}: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("(set VIVID_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
