"""``vivid track CLIP --mask KEY.png [--anchor N=MASK.png …] -o OUT``: tracked masks out, nothing edited.

The masks are prepared like ``vivid edit``'s (scaled to the clip with a warning), the runtime tracks them
(``track_masks``, the same job the editor runs) into a work folder with a progress bar, and OUT is written
by its extension: a folder of grey PNGs (``000000.png`` …, 255 = object) or a grey mask video (``.mp4``,
``.mov``, ``.mkv``) that ``vivid edit --mask`` and the editor's mask import read back. One line on stderr
and exit status 1 on any failure; Ctrl-C cancels (130). ``--sam2 DIR`` tracks with SAM 2.1 (the user's
weights, in transformers' format) instead of the flow tracker, on ``--device`` (default: the GPU if any).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vivid_desktop.cli.edit_cmd import run_command
from vivid_desktop.cli.edit_inputs import EditError, read_mask_file, write_png


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid track`` to the ``vivid`` command."""
    p = sub.add_parser(
        "track",
        help="track a mask painted on one or more frames through a clip; write the masks",
        description="Track KEY (the object's mask on frame --frame, default the first of the range) and any "
        "--anchor masks through CLIP with the flow engine (or SAM 2.1 with --sam2), and write the masks to "
        "OUT: a folder of PNGs, or a grey mask video when OUT ends in .mp4, .mov or .mkv.",
    )
    p.add_argument("clip", type=Path, metavar="CLIP")
    p.add_argument("--mask", required=True, type=Path, metavar="KEY.png", help="the keyframe's mask")
    p.add_argument(
        "--frame", type=int, metavar="N", help="the frame KEY was painted on (default: range start)"
    )
    p.add_argument(
        "--anchor", action="append", default=[], metavar="N=MASK.png", help="another frame's mask; repeatable"
    )
    p.add_argument("--range", metavar="A:B", help="track frames A to B-1 only (default: all)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT")
    p.add_argument(
        "--tracker", choices=["flow", "sam2"], help="flow (CPU, no weights; default) or sam2 (needs --sam2)"
    )
    p.add_argument(
        "--sam2",
        type=Path,
        metavar="DIR",
        help="a SAM 2.1 model folder in transformers' format (config.json + model.safetensors); "
        "implies --tracker sam2",
    )
    p.add_argument("--device", default="auto", metavar="D", help="sam2: auto (GPU if any), cpu, cuda, cuda:N")
    p.add_argument("--work", type=Path, metavar="DIR", help="keep the work folder here (a rerun resumes)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_command("vivid track", args, lambda work: track(args, work))


def parse_anchor(text: str) -> tuple[int, Path]:
    """``"N=MASK.png"`` → ``(N, path)``."""
    number, sep, mask = text.partition("=")
    if not sep or not number.strip().isdigit() or not mask:
        raise EditError(f"--anchor {text!r}: write it as N=MASK.png, e.g. 40=mask_40.png")
    return int(number), Path(mask).expanduser().absolute()


def track(args: argparse.Namespace, work: Path) -> None:
    """Prepare the anchors, run ``track_masks`` on a supervised runtime, write OUT."""
    from vivid_desktop.cli.edit_cmd import _check_engine, _run_job, _runtime, clip_and_range
    from vivid_desktop.protocol.jobs import KeyframeSpec, TrackMasksRequest

    clip, info, frames = clip_and_range(args.clip, args.range)
    first = frames.start if args.frame is None else args.frame
    sources = dict([(first, args.mask.expanduser().absolute()), *(parse_anchor(t) for t in args.anchor)])
    anchors = []
    for n, path in sorted(sources.items()):
        if n not in frames:
            raise EditError(f"the mask of frame {n} is outside the frames {frames.start}:{frames.stop}")
        if not path.is_file():
            raise EditError(f"mask not found: {path}")
        mask = read_mask_file(path, (info.width, info.height), _warn)
        anchors.append(KeyframeSpec(frame=n, mask=str(write_png(work / "anchors" / f"{n:06d}.png", mask))))
    out = work / "tracked"
    request = TrackMasksRequest(
        source=str(clip),
        start=frames.start,
        stop=frames.stop,
        anchors=anchors,
        output_dir=str(out),
        settings=tracker_settings(args),
    )
    with _runtime(work) as sup:
        _check_engine(sup, "flow")
        _run_job(sup, request, "tracking", len(frames), out)
    write_masks(out, args.output, info.rate, len(frames))


def tracker_settings(args: argparse.Namespace) -> dict[str, object]:
    """The request's tracker settings from ``--tracker``, ``--sam2`` and ``--device``."""
    tracker = args.tracker or ("sam2" if args.sam2 else "flow")
    if tracker == "flow":
        if args.sam2:
            raise EditError("--sam2 is the sam2 tracker's model: leave out --tracker flow")
        return {}
    if not args.sam2:
        raise EditError("--tracker sam2 needs the model folder: --sam2 DIR")
    return {"tracker": "sam2", "sam2_model": str(args.sam2.expanduser().absolute()), "device": args.device}


def write_masks(folder: Path, output: Path, rate, total: int) -> None:
    """The tracked PNGs as OUT: a PNG folder or a grey mask video (by OUT's extension)."""
    from vivid_desktop.cli.progress import Progress
    from vivid_desktop.media.export import export_masks
    from vivid_desktop.render_folder import frame_files, read_mask

    files = [p for _, p in sorted(frame_files(folder).items())]
    if len(files) != total:
        raise EditError(f"tracking wrote {len(files)} of {total} masks")
    with Progress("writing", total) as bar:
        export_masks(
            (read_mask(p) for p in files),
            output.expanduser(),
            kind="mask",
            rate=rate,
            total=total,
            progress=lambda done, _total: bar.update(done),
        )


def _warn(text: str) -> None:
    print(f"vivid track: warning: {text}", file=sys.stderr)
