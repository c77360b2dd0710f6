"""``vivid probe CLIP`` (the clip's facts as JSON) and ``vivid proxy CLIP [-o OUT]`` (build a scrub proxy).

``proxy`` shows a progress bar on a terminal and plain ``proxy: N/M frames`` lines when stderr is piped
or logged. Failures end with one line on stderr and exit status 1; Ctrl-C leaves no partial proxy (130).
"""

from __future__ import annotations

import argparse
import json
import sys

from vivid_desktop.cli.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid probe`` and ``vivid proxy`` to the ``vivid`` command."""
    p = sub.add_parser(
        "probe",
        help="print a clip's size, rotation, exact frame rate, frame count, duration and audio as JSON",
        description="Read a clip's streams and print what VIVID will work with, as JSON on stdout. Frame "
        'rates and durations are exact fractions ("30000/1001"); width/height are the display size.',
    )
    p.add_argument("clip", metavar="CLIP", help="the video file")
    p.set_defaults(func=run_probe)

    p = sub.add_parser(
        "proxy",
        help="build the low-resolution, all-intra proxy used for fast scrubbing",
        description="Build a small all-intra H.264 copy of CLIP for scrubbing. It appears at OUT only when "
        "complete. Prints the proxy's path on stdout.",
    )
    p.add_argument("clip", metavar="CLIP", help="the video file")
    p.add_argument("-o", "--output", metavar="OUT", help="the proxy file (default: CLIP's name + .proxy.mp4)")
    p.add_argument("--max-lines", type=int, default=540, metavar="N", help="proxy height limit (default 540)")
    p.set_defaults(func=run_proxy)


def run_probe(args: argparse.Namespace) -> int:
    from vivid_desktop.media.errors import MediaError
    from vivid_desktop.media.probe import probe

    try:
        info = probe(args.clip)
    except MediaError as exc:
        print(f"vivid probe: {exc}", file=sys.stderr)
        return 1
    json.dump(info.to_dict(), sys.stdout, indent=2)
    print()
    return 0


def run_proxy(args: argparse.Namespace) -> int:
    from vivid_desktop.media.errors import MediaError
    from vivid_desktop.media.proxy import build_proxy

    if args.max_lines < 2:
        print("vivid proxy: --max-lines must be at least 2", file=sys.stderr)
        return 1
    try:
        with Progress("proxy", stream=sys.stderr) as progress:
            out = build_proxy(args.clip, args.output, max_lines=args.max_lines, progress=progress.update)
    except (MediaError, OSError) as exc:
        print(f"vivid proxy: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0
