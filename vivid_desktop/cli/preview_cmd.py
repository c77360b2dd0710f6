"""``vivid preview CLIP --frame N --mask M.png --caption … -o OUT.png``: one keyframe, edited as the editor's
Preview does (``edit_keyframe``: the vivid engine's image mode, or the flow engine's one-frame removal).

The mask is prepared like ``vivid edit``'s (scaled to the clip with a warning; a folder or a mask video
gives frame N's mask). The runtime writes the result into the work folder; OUT is written from it
atomically at the end, so a cancelled or failed preview leaves no OUT. Progress: the denoising steps
(``step 3/50``) on the command line's one progress display. Ctrl-C cancels the runtime's job between two
steps, waits for it to end and exits with status 130 after one line; any failure: one line and status 1.
"""

from __future__ import annotations

import argparse
import queue
import sys
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from vivid_desktop.cli.edit_cmd import Cancelled, run_command
from vivid_desktop.cli.edit_inputs import EditError
from vivid_desktop.cli.progress import Progress

if TYPE_CHECKING:
    from vivid_desktop.protocol.jobs import EditKeyframeRequest
    from vivid_desktop.runtime_client import Supervisor

#: How long Ctrl-C waits for the runtime to confirm the cancel before shutting it down anyway.
CANCEL_WAIT_S = 30.0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid preview`` to the ``vivid`` command."""
    from vivid_desktop.cli import edit_cmd

    p = sub.add_parser(
        "preview",
        help="edit one keyframe (as the editor's Preview does) and write it as an image",
        description="Edit frame N of CLIP inside MASK with the vivid engine's image mode (or the flow "
        "engine's removal) and write the edited frame to OUT (PNG, JPEG, … by its extension). Shows the "
        "denoising steps as they run; Ctrl-C cancels.",
    )
    p.add_argument("clip", type=Path, metavar="CLIP")
    p.add_argument("--frame", required=True, type=int, metavar="N", help="the keyframe to edit")
    p.add_argument("--mask", required=True, type=Path, metavar="MASK", help="its mask (PNG, folder, video)")
    p.add_argument("--task", choices=["delete", "add", "modify"], default="modify")
    p.add_argument("--caption", default=None, help="what the masked region should show (add/modify)")
    p.add_argument(
        "--engine", choices=["flow", "vivid"], help="default: vivid when --model is given, else flow"
    )
    p.add_argument("--model", type=Path, metavar="DIR", help="model folder (vivid engine)")
    p.add_argument("--lora", action="append", default=[], type=Path, metavar="FILE", help="LoRA; repeatable")
    p.add_argument("--steps", type=int, metavar="N", help="denoising steps (vivid engine; default 50)")
    p.add_argument("--guidance", type=float, metavar="G", help="guidance scale (vivid engine; default 6)")
    p.add_argument("--memory", choices=["auto", "gpu", "model_offload", "vae_tiling", "sequential_offload"])
    p.add_argument("--resolution", type=edit_cmd._resolution, metavar="HxW", help="model frame size")
    p.add_argument("--framing", choices=["auto", "crop", "letterbox"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, metavar="DIR", help="keep the work folder here")
    edit_cmd.add_runtime_args(p)
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_command("vivid preview", args, lambda work: preview(args, work))


def preview(args: argparse.Namespace, work: Path) -> None:
    """Check the inputs, run ``edit_keyframe`` on a supervised runtime, write OUT."""
    from vivid_desktop.cli.edit_cmd import _check_engine, _runtime

    if args.engine is None:
        args.engine = "vivid" if args.model is not None else "flow"
    suffix = args.output.suffix.lower()
    if not suffix or not cv2.haveImageWriter(f"x{suffix}"):
        raise EditError(f"cannot write an image named {args.output.name}: use .png, .jpg, .tif, …")
    request = build_request(args, work)
    with _runtime(work, args) as sup:
        _check_engine(sup, args.engine)
        result = run_preview(sup, request)
    write_output(result, args.output.expanduser())


def build_request(args: argparse.Namespace, work: Path) -> EditKeyframeRequest:
    """The keyframe request: the clip and frame checked, the mask at the clip's size under ``work``."""
    from vivid_desktop.cli.edit_cmd import _settings, clip_and_range
    from vivid_desktop.cli.edit_inputs import prepare_masks
    from vivid_desktop.protocol.jobs import DELETE_CAPTION, EditKeyframeRequest

    clip, info, frames = clip_and_range(args.clip, None)
    if args.frame not in frames:
        raise EditError(f"--frame {args.frame}: the clip has frames 0 to {frames.stop - 1}")
    if args.task != "delete" and not (args.caption or "").strip():
        raise EditError(f"--task {args.task} needs --caption (what the masked region should show)")
    one = range(args.frame, args.frame + 1)
    masks = prepare_masks(args.mask.expanduser().absolute(), work, (info.width, info.height), one, _warn)
    return EditKeyframeRequest(
        source=str(clip),
        frame=args.frame,
        mask=str(masks.for_frame(args.frame)),
        task=args.task,
        caption=DELETE_CAPTION if args.task == "delete" else args.caption,
        engine=args.engine,
        seed=args.seed,
        settings=_settings(args),
        output=str(work / "preview" / f"{args.frame:06d}.png"),
    )


def run_preview(sup: Supervisor, request: EditKeyframeRequest) -> Path:
    """Submit, show the steps, return the runtime's file; Ctrl-C cancels the job (:class:`Cancelled`)."""
    events: queue.Queue = queue.Queue()
    with Progress(f"keyframe {request.frame}", unit="step", line="{label}: {unit} {done}/{total}") as bar:
        job = sup.submit(request, on_event=events.put)
        try:
            while not (job.done() and events.empty()):
                with suppress(queue.Empty):
                    show(bar, events.get(timeout=0.2))
        except KeyboardInterrupt:
            job.cancel()  # the runtime stops between two steps and writes nothing
            with suppress(TimeoutError):
                job.wait(CANCEL_WAIT_S)
            raise Cancelled from None
    if job.error is not None:
        raise EditError(job.error[1])
    return Path(job.result.get("output", request.output))


def show(bar: Progress, msg) -> None:
    """One event on the progress display: counted steps move the bar, other progress is described."""
    if msg.msg_type != "progress":
        return
    c = msg.content
    bar.describe("" if c.unit else c.message)  # "loading model …" beside the bar; steps are the bar
    if c.unit and c.total > 0:
        bar.unit = c.unit
        bar.update(int(c.done), int(c.total))


def write_output(result: Path, output: Path) -> None:
    """OUT from the runtime's PNG, atomically, in the format its extension names."""
    from vivid_desktop.core.files import write_atomic

    image = cv2.imread(str(result), cv2.IMREAD_COLOR)
    if image is None:
        raise EditError(f"the runtime's preview {result} cannot be read")
    ok, data = cv2.imencode(output.suffix.lower(), image)
    if not ok:
        raise EditError(f"cannot encode {output.name}")
    write_atomic(output, data.tobytes())


def _warn(text: str) -> None:
    print(f"vivid preview: warning: {text}", file=sys.stderr)
