"""``vivid export PROJECT -o OUT``: the project's final frames, with the source's audio, to a file or folder.

A progress bar on a terminal; plain ``export: N/M frames`` lines when the output is piped or logged.
Failures end with one line on stderr and exit status 1; Ctrl-C removes the partial output (status 130).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vivid_desktop.cli.progress import Progress
from vivid_desktop.media.export_formats import FORMATS, QUALITY_PRESETS


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid export`` to the ``vivid`` command."""
    formats = ", ".join(f"{f.name} ({f.label})" for f in FORMATS.values())
    p = sub.add_parser(
        "export",
        help="export a project's edited frames to a video file or PNG sequence",
        description="Export a project's frames — rendered where edits were rendered, the source elsewhere — "
        "with the source's audio, frame count and exact frame rate. The format follows OUT's extension "
        f"(.mp4, .mov, .mkv; a folder for PNG) unless --format is given. Formats: {formats}. "
        "OUT ending in .otio, .xml (FCP 7) or .edl writes a timeline for an NLE instead: the edited frames "
        "and one matte per edit go into OUT's .media folder, the timeline references them and the source.",
    )
    p.add_argument("project", metavar="PROJECT", help="the project folder (NAME.vivid)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the file or folder to write")
    p.add_argument("--format", choices=list(FORMATS), help="the output format (default: from OUT)")
    p.add_argument(
        "--range",
        metavar="A:B",
        help="frames A to B-1 (either may be left out: 10: or :250); default: the project's in/out range",
    )
    p.add_argument("--quality", choices=QUALITY_PRESETS, default="standard", help="speed/size trade-off")
    p.add_argument("--no-audio", action="store_true", help="leave the source's audio out")
    p.add_argument(
        "--media-format",
        choices=("prores", "h264", "ffv1"),
        default="prores",
        help="timelines only: how the edited frames are handed over (default: ProRes 422 HQ)",
    )
    p.add_argument("--no-mattes", action="store_true", help="timelines only: leave the edits' mattes out")
    p.set_defaults(func=run)


def parse_range(text: str | None) -> tuple[int | None, int | None]:
    """``"A:B"`` → ``(A, B)``; empty sides are None. Raises ``ValueError`` with a readable message."""
    if text is None:
        return None, None
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"--range {text!r}: write it as A:B (frames A to B-1), e.g. 0:250")
    try:
        start, stop = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise ValueError(f"--range {text!r}: A and B must be frame numbers") from None
    if start is not None and stop is not None and not start < stop:
        raise ValueError(f"--range {text!r}: B must be greater than A")
    return start, stop


def run(args: argparse.Namespace) -> int:
    # Imported here so that ``vivid --help`` and the other commands start fast.
    from vivid_desktop.core.project import ProjectError
    from vivid_desktop.core.store import open_project
    from vivid_desktop.media.errors import MediaError
    from vivid_desktop.media.export_project import export_project, export_range
    from vivid_desktop.media.export_timeline import ADAPTERS, export_timeline

    try:
        start, stop = parse_range(args.range)
        store = open_project(args.project)
        start, stop = export_range(store, start, stop)
        if Path(args.output).suffix.lower() in ADAPTERS:
            return _timeline(store, args, start, stop, export_timeline)
        with Progress("export", stop - start, stream=sys.stderr) as progress:
            out = export_project(
                store,
                args.output,
                start=start,
                stop=stop,
                format=args.format,
                quality=args.quality,
                audio=not args.no_audio,
                progress=lambda done, _total: progress.update(done),
            )
    except (MediaError, ProjectError, ValueError) as exc:
        print(f"vivid export: {exc}", file=sys.stderr)
        return 1
    print(Path(out))
    return 0


def _timeline(store, args: argparse.Namespace, start: int, stop: int, export_timeline) -> int:
    edits = 0 if args.no_mattes else sum(e.enabled for e in store.project.edits)
    with Progress("export", (stop - start) * (1 + edits), stream=sys.stderr) as progress:
        out = export_timeline(
            store,
            args.output,
            start=start,
            stop=stop,
            media_format=args.media_format,
            quality=args.quality,
            mattes=not args.no_mattes,
            progress=lambda done, _total: progress.update(done),
        )
    print(Path(out))
    return 0
