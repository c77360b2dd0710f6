"""``vivid edit``: edit a clip from the command line through a real runtime process, exactly as the GUI does.

Steps: prepare masks and keyframes in a work folder (scaled to the clip with a warning), start the runtime
(:mod:`vivid_desktop.runtime_client`), optionally track the mask (``track_masks``), render (``propagate``)
into ``WORK/render``, export OUT with the clip's audio. A crash of the runtime mid-render is survived: the
supervisor restarts it and the render resumes from the finished frames. Ctrl-C cancels the job, waits for
its terminal event and shuts the runtime down. Any failure: one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import sys
import tempfile
from contextlib import contextmanager, suppress
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vivid_desktop.cli.edit_inputs import (
    EditError,
    MaskInput,
    parse_keyframe,
    prepare_keyframe,
    prepare_masks,
)
from vivid_desktop.cli.progress import Progress
from vivid_desktop.render_folder import done_frames, frame_files

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pydantic import BaseModel

    from vivid_desktop.runtime_client import Job, LaunchSpec, Supervisor

#: How long Ctrl-C waits for the runtime to confirm the cancel before shutting it down anyway.
CANCEL_WAIT_S = 30.0
#: Runtime deaths survived by resubmitting the render (it resumes from the finished frames).
RESUBMITS = 2


class Cancelled(Exception):
    """The user pressed Ctrl-C; the job is cancelled."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid edit`` to the ``vivid`` command."""
    p = sub.add_parser(
        "edit",
        help="edit a clip (delete, add or modify what a mask covers) and export the result",
        description="Delete, add or modify the masked region of CLIP with the flow (CPU) or vivid "
        "(diffusion) engine and export OUT (format from its extension) with CLIP's audio. MASK is one "
        "PNG (every frame; with --track, the first keyframe's mask, tracked through the clip), a folder "
        "of per-frame PNGs (000012.png; frames without one use the nearest), or a mask video.",
    )
    p.add_argument("clip", type=Path, metavar="CLIP")
    p.add_argument("--mask", required=True, type=Path, metavar="MASK")
    p.add_argument("--task", required=True, choices=["delete", "add", "modify"])
    p.add_argument("--caption", default=None, help="what the masked region should show (add/modify)")
    p.add_argument(
        "--keyframe", action="append", default=[], metavar="N=IMAGE", help="edited frame N; repeatable"
    )
    p.add_argument(
        "--track", action="store_true", help="track the mask from the first keyframe through the clip"
    )
    p.add_argument("--engine", default="flow", choices=["flow", "vivid"])
    p.add_argument("--model", type=Path, metavar="DIR", help="model folder (vivid engine)")
    p.add_argument("--lora", action="append", default=[], type=Path, metavar="FILE", help="LoRA; repeatable")
    p.add_argument("--steps", type=int, metavar="N", help="denoising steps (vivid engine; default 50)")
    p.add_argument("--guidance", type=float, metavar="G", help="guidance scale (vivid engine; default 6)")
    p.add_argument(
        "--memory",
        choices=["auto", "gpu", "model_offload", "vae_tiling", "sequential_offload"],
        help="memory mode (vivid engine; default auto: step down on out-of-memory)",
    )
    p.add_argument(
        "--resolution",
        type=_resolution,
        metavar="HxW",
        help="model frame size, multiples of 16 (vivid engine; default: the model's, else 480x720)",
    )
    p.add_argument(
        "--framing",
        choices=["auto", "crop", "letterbox"],
        help="vivid engine: crop = a box around the mask at native resolution, letterbox = the whole "
        "frame, auto (default) = crop when the mask is small",
    )
    p.add_argument("--range", metavar="A:B", help="edit and write frames A to B-1 only (default: all)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (windows, known frames, directions) as JSON and exit without rendering",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quality", choices=["draft", "standard", "high"], default="standard")
    p.add_argument("--work", type=Path, metavar="DIR", help="keep the work folder here (a rerun resumes)")
    add_cluster_option(p)
    add_runtime_args(p)
    p.add_argument("-o", "--output", type=Path, metavar="OUT", help="the edited clip (not with --dry-run)")
    p.set_defaults(func=run)


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    """``--runtime HOST:PORT --token-file FILE [--tls-ca CA]``: run on ``vivid-runtime serve`` elsewhere."""
    p.add_argument(
        "--runtime",
        metavar="HOST:PORT",
        help="use a remote runtime (vivid-runtime serve) instead of a local one (docs/studio.md)",
    )
    p.add_argument("--token-file", type=Path, metavar="FILE", help="the remote runtime's token")
    p.add_argument("--tls-ca", type=Path, metavar="CA", help="CA certificate that signed the runtime's (PEM)")


def launch_spec(args: argparse.Namespace | None, log_path: Path) -> LaunchSpec:
    """A local runtime, or the remote one that ``--runtime`` names."""
    from vivid_desktop.runtime_client import LaunchSpec, remote_launch_spec

    if getattr(args, "runtime", None) is None:
        return LaunchSpec(log_path=log_path)
    assert args is not None
    if args.token_file is None:
        raise EditError("--runtime needs --token-file FILE (the token of vivid-runtime serve)")
    try:
        return remote_launch_spec(args.runtime, args.token_file.expanduser(), args.tls_ca)
    except ValueError as exc:
        raise EditError(f"--runtime: {exc}") from None


def _resolution(text: str) -> list[int]:
    """``HxW`` → ``[h, w]`` (multiples of 16, the model's patch grid)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 480x720, got {text!r}") from None
    if min(h, w) < 16 or h % 16 or w % 16:
        raise argparse.ArgumentTypeError(f"height and width must be multiples of 16, got {text}")
    return [h, w]


def add_cluster_option(p: argparse.ArgumentParser) -> None:
    """``--ray ADDRESS|local``: render on a Ray cluster (shared by ``vivid edit`` and ``vivid batch``)."""
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="render on a Ray cluster: 'local' starts one on this machine; otherwise the address of a "
        "running cluster (ray://head:10001, head:6379, auto). Needs the farm extra",
    )


def run(args: argparse.Namespace) -> int:
    if args.output is None and not args.dry_run:
        print("vivid edit: the following arguments are required: -o/--output", file=sys.stderr)
        return 2

    def body(work: Path) -> bool:
        if args.dry_run:
            print(json.dumps(dry_run(args), indent=2))
            return False
        edit(args, work)
        return True

    return run_command("vivid edit", args, body)


def run_command(name: str, args: argparse.Namespace, body: Callable[[Path], bool | None]) -> int:
    """Run ``body(work folder)`` the way every job command does: Ctrl-C is one line and status 130, an
    input or runtime error one line and status 1, then "wrote OUT" unless ``body`` returns False."""
    from vivid_desktop.media.errors import MediaError
    from vivid_desktop.runtime_client import RuntimeClientError

    try:
        with _work_folder(args.work) as work:
            wrote = body(work)
    except (Cancelled, KeyboardInterrupt):  # Ctrl-C outside a job: the runtime's shutdown cancels its work
        print(f"{name}: cancelled", file=sys.stderr)
        return 130
    except (EditError, MediaError, RuntimeClientError, OSError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    if wrote is not False:
        print(f"{name}: wrote {args.output}", file=sys.stderr)
    return 0


def warn(text: str) -> None:
    print(f"vivid edit: warning: {text}", file=sys.stderr)


def edit(args: argparse.Namespace, work: Path) -> None:
    """Prepare inputs, run the jobs on a supervised runtime, export."""
    with _runtime(work, args) as sup:
        _check_engine(sup, args.engine)
        shot = prepare_shot(sup, args, work)
        _render(sup, shot.plan, len(shot.frames))
    export_shot(shot, args)


class Shot:
    """One clip's edit, ready to render: its plan, and what the export needs."""

    def __init__(self, plan, clip: Path, info, frames: range) -> None:
        self.plan, self.clip, self.info, self.frames = plan, clip, info, frames


def _inputs(args: argparse.Namespace) -> tuple[Path, Any, range, dict[int, Path]]:
    """The clip, its probe, the frame range and the keyframes, checked."""
    clip, info, frames = clip_and_range(args.clip, args.range)
    keyed = dict(parse_keyframe(text) for text in args.keyframe)
    outside = [n for n in keyed if n not in frames]
    if outside:
        raise EditError(f"keyframe {outside[0]} is outside the frames {frames.start}:{frames.stop}")
    return clip, info, frames, keyed


def clip_and_range(path: Path, range_text: str | None) -> tuple[Path, Any, range]:
    """The clip (absolute, as given), its probe and the frames ``--range A:B`` names, checked
    (shared by ``vivid edit`` and ``vivid track``)."""
    from vivid_desktop.cli.export_cmd import parse_range
    from vivid_desktop.media.probe import probe

    clip = path.expanduser().absolute()
    if not clip.is_file():
        broken = clip.is_symlink()  # a broken link or a loop of links
        raise EditError(
            f"the clip {clip} is a link that leads nowhere" if broken else f"clip not found: {clip}"
        )
    info = probe(clip)
    try:
        a, b = parse_range(range_text)
    except ValueError as exc:
        raise EditError(str(exc)) from None
    frames = range(a or 0, info.frame_count if b is None else b)
    if not 0 <= frames.start < frames.stop <= info.frame_count:
        raise EditError(f"--range {range_text}: the clip has frames 0 to {info.frame_count - 1}")
    return clip, info, frames


def dry_run(args: argparse.Namespace) -> dict[str, object]:
    """The plan ``edit`` would run: the engine's windows in execution order (no runtime, no rendering)."""
    from vivid_desktop.protocol.windows import plan_json

    clip, _info, frames, keyed = _inputs(args)
    settings = _settings(args)
    out: dict[str, object] = {"engine": args.engine, "clip": str(clip)}
    if args.engine == "vivid":
        out.update(plan_json(frames.start, frames.stop, sorted(keyed)))
        out["resolution"] = settings.get("resolution")
        out["framing"] = settings.get("framing", "auto")
    else:  # the flow engine runs the range as one span
        span = {"start": frames.start, "stop": frames.stop, "model_frames": None, "known": None}
        out.update(start=frames.start, stop=frames.stop, windows=[{**span, "direction": "forward"}])
    return out


def prepare_shot(sup: Supervisor, args: argparse.Namespace, work: Path) -> Shot:
    """Check the inputs, prepare masks and keyframes in ``work`` (tracking when asked): the render plan."""
    from vivid_desktop.protocol.jobs import DELETE_CAPTION, KeyframeSpec, RenderPlan, TrackMasksRequest

    clip, info, frames, keyed = _inputs(args)
    size = (info.width, info.height)
    masks = prepare_masks(args.mask.expanduser().absolute(), work, size, frames, warn)
    settings = _settings(args)
    if args.track:
        masks = _track(sup, clip, masks, frames, keyed, work, TrackMasksRequest, KeyframeSpec)
    keyframes = [
        KeyframeSpec(
            frame=n, mask=str(masks.for_frame(n)), image=str(prepare_keyframe(n, img, work, size, warn))
        )
        for n, img in sorted(keyed.items())
    ]
    plan = RenderPlan(
        source=str(clip),
        start=frames.start,
        stop=frames.stop,
        task=args.task,
        mask=str(masks.single) if masks.single else None,
        mask_dir=str(masks.folder) if masks.folder else None,
        keyframes=keyframes,
        caption=args.caption
        if args.caption is not None
        else (DELETE_CAPTION if args.task == "delete" else ""),
        engine=args.engine,
        seed=args.seed,
        settings=settings,
        output_dir=str(work / "render"),
        cluster=getattr(args, "ray", None),
    )
    return Shot(plan, clip, info, frames)


def _settings(args: argparse.Namespace) -> dict[str, object]:
    settings: dict[str, object] = {}
    if args.model is not None:
        settings["model"] = str(args.model.expanduser().absolute())
    if args.lora:
        settings["loras"] = [str(p.expanduser().absolute()) for p in args.lora]
    for key in ("steps", "guidance", "memory", "resolution", "framing"):
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    if args.engine == "vivid" and "model" not in settings:
        raise EditError("the vivid engine needs --model DIR")
    return settings


@contextmanager
def _work_folder(work: Path | None) -> Iterator[Path]:
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        yield work.resolve()
        return
    temp = Path(tempfile.mkdtemp(prefix="vivid-edit-"))
    try:
        yield temp
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@contextmanager
def _runtime(work: Path, args: argparse.Namespace | None = None) -> Iterator[Supervisor]:
    """A supervised runtime for the duration of the edit (local, or ``--runtime``); always shut down."""
    from vivid_desktop.runtime_client import Supervisor

    sup = Supervisor(launch_spec(args, work / "runtime.log"), restart_delay_s=0.2)
    sup.start()
    try:
        sup.wait_ready(120)
        yield sup
    finally:
        sup.stop()


def _check_engine(sup: Supervisor, name: str) -> None:
    hello = sup.wait_ready(120)
    engine = next((e for e in hello.engines if e.name == name), None)
    if engine is None or not engine.available:
        reason = engine.reason if engine else "the runtime does not know it"
        raise EditError(f"the {name} engine is not available: {reason}")


def _track(sup, clip, masks: MaskInput, frames: range, keyed, work: Path, request_cls, spec_cls) -> MaskInput:
    if masks.single is not None:
        first = min(keyed) if keyed else frames.start
        anchors = [spec_cls(frame=first, mask=str(masks.single))]
    else:
        assert masks.folder is not None
        anchors = [spec_cls(frame=n, mask=str(p)) for n, p in sorted(frame_files(masks.folder).items())]
    out = work / "tracked"
    request = request_cls(
        source=str(clip), start=frames.start, stop=frames.stop, anchors=anchors, output_dir=str(out)
    )
    _run_job(sup, request, "tracking", len(frames), out)
    return MaskInput(folder=out)


def _render(sup: Supervisor, plan: BaseModel, total: int, done: int | None = None) -> None:
    """Run the render; when the runtime dies, wait for the restart and submit it again (it resumes)."""
    for attempt in range(RESUBMITS + 1):
        out = Path(plan.output_dir) if done is None else None  # type: ignore[attr-defined]
        job = _run_job(sup, plan, "rendering", total, out, done or 0)
        if job.succeeded:
            return
        code, message = job.error or ("failed", "failed")
        if code != "runtime_died" or attempt == RESUBMITS:
            raise EditError(message)
        warn(f"{message}; restarting the runtime and resuming")
        sup.wait_ready(120)


def _run_job(
    sup: Supervisor, request: BaseModel, label: str, total: int, out: Path | None, done_before: int = 0
) -> Job:
    """Submit, show progress, return the finished job; Ctrl-C cancels it (and raises :class:`Cancelled`).
    ``out`` is the folder whose frames count as done already (or give ``done_before``)."""
    events: queue.Queue = queue.Queue()
    if out is not None:
        done_before = len(done_frames(out))
    with Progress(label, total, initial=min(done_before, total)) as bar:
        job = sup.submit(request, on_event=events.put)
        try:
            while not (job.done() and events.empty()):
                try:
                    msg = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if msg.msg_type == "frame_ready":
                    bar.advance()
                elif msg.msg_type == "progress" and msg.content.message:
                    bar.describe(msg.content.message)
        except KeyboardInterrupt:
            bar.note("vivid edit: cancelling…")
            job.cancel()
            with suppress(TimeoutError):
                job.wait(CANCEL_WAIT_S)
            raise Cancelled from None
    if job.error is not None and job.error[0] != "runtime_died":
        raise EditError(job.error[1])
    return job


def export_shot(shot: Shot, args: argparse.Namespace) -> None:
    """Export a rendered shot to ``args.output`` with its clip's audio."""
    from vivid_desktop.media.export import export_folder

    render, clip, info, frames = Path(shot.plan.output_dir), shot.clip, shot.info, shot.frames
    with Progress("exporting", len(frames)) as bar:
        try:
            export_folder(
                render,
                args.output,
                rate=info.rate,
                audio_source=clip if info.has_audio else None,
                audio_start=Fraction(frames.start) / info.rate,
                quality=args.quality,
                progress=lambda done, _total: bar.update(done),
            )
        except KeyboardInterrupt:
            raise Cancelled from None
