"""``vivid train --data DIR|PROJECT --model DIR -o LORA.safetensors``: fine-tune a LoRA (docs/training.md).

The trainer runs in a child process (``python -m model_runtime.training``; with ``--processes N`` under
``accelerate launch``, one process per GPU, data parallel), so this command never imports torch. It shows
a progress bar on a terminal (plain ``train: step …`` lines when stderr is piped), writes the JSON-lines
loss log (``--log``, default ``LORA.loss.jsonl``) and prints the LoRA's path on stdout. Ctrl-C stops after
the current step with a checkpoint; the same command again resumes there. A broken dataset is refused
with every problem listed, before anything is trained. Settings a preset sets (rank, size, frames, batch,
checkpointing, feed-forward) and that are not given follow the machine: the trainer process, which sees
the GPU, fills them from the machine's preset (the CPU one without a GPU); ``--preset`` picks one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

from vivid_desktop.cli.progress import Progress
from vivid_desktop.protocol.jobs import TrainRequest
from vivid_desktop.system.extras import require
from vivid_desktop.train_presets import ALL_PRESETS, preset_by_id, preset_id

#: TrainRequest fields set from options of the same name (dashes for underscores): type, metavar, help
_OPTIONS: list[tuple[str, type, str, str]] = [
    ("steps", int, "N", "optimizer steps (default 1000)"),
    ("rank", int, "R", "LoRA rank (default: the machine's preset)"),
    ("alpha", float, "A", "LoRA alpha (default: the rank)"),
    ("learning_rate", float, "LR", "peak learning rate (default 1e-4)"),
    ("lr_schedule", str, "{constant,linear,cosine}", "the schedule after the warm-up (default cosine)"),
    ("warmup_steps", int, "N", "linear warm-up steps (default 50)"),
    ("batch_size", int, "N", "samples per step and process (default: the machine's preset)"),
    ("seed", int, "N", "random seed (default 0)"),
    ("height", int, "PX", "training height (default: the machine's preset)"),
    ("width", int, "PX", "training width (default: the machine's preset)"),
    ("num_frames", int, "N", "frames of a video sample, 4k+1 (default: the machine's preset)"),
    ("image_video_ratio", float, "X", "image samples per video sample (default 10)"),
    ("image_frames_per_clip", int, "N", "frames of each clip also trained as images (default 8)"),
    ("deletion_share", float, "X", "share of deletion samples, 0..1 (default 0.15)"),
    ("checkpoint_every", int, "N", "steps between checkpoints (default 100)"),
    ("keep_checkpoints", int, "K", "checkpoints kept (default 3)"),
    ("validate_every", int, "N", "steps between validation renders, 0 = never (default 100)"),
    ("validation_steps", int, "N", "sampling steps of a validation render (default 20)"),
    ("val_loss_every", int, "N", "steps between val_loss evaluations, 0 = never (default 100)"),
    ("variant", str, "{standard,kive}", "kive: video samples with a known first frame (default standard)"),
    ("precision", str, "{auto,bf16,fp32}", "auto = bf16 on CUDA, fp32 on CPU"),
    ("train_patch_embed", str, "{auto,always,never}", "train the widened patch embedding fully"),
    ("work_dir", str, "DIR", "checkpoints, latent cache, renders (default LORA.safetensors.work)"),
    ("cache_dir", str, "DIR", "latent cache, shareable between runs (default WORK_DIR/cache)"),
]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid train`` to the ``vivid`` command."""
    p = sub.add_parser(
        "train",
        help="fine-tune a LoRA on a project, a folder of clips with masks and captions, or records",
        description="Fine-tune a LoRA adapter of the VIVID model on your own footage. --data is a project "
        "folder, a folder of clips/images with NAME.mask.* and NAME.txt, or a records.jsonl "
        "(docs/training.md). Prints the LoRA's path when done.",
    )
    p.add_argument("--data", required=True, metavar="DIR|PROJECT", help="the training data")
    p.add_argument("--model", required=True, metavar="DIR", help="the model folder to fine-tune")
    p.add_argument("-o", "--output", required=True, metavar="LORA.safetensors", help="the LoRA to write")
    p.add_argument(
        "--log", metavar="FILE", help="loss log, one JSON object per step (default LORA.loss.jsonl)"
    )
    for name, kind, metavar, text in _OPTIONS:
        choices = metavar[1:-1].split(",") if metavar.startswith("{") else None  # a one-line refusal
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, type=kind, dest=name, metavar=metavar, choices=choices, help=text)
    p.add_argument(
        "--preset",
        choices=[preset_id(p) for p in ALL_PRESETS],
        help="the settings of this preset for what is not given (default: the machine's: cpu without "
        "a GPU, else the largest that fits the GPU's memory)",
    )
    p.add_argument(
        "--train-ff", action="store_true", default=None, help="LoRA on the feed-forward layers too"
    )
    p.add_argument(
        "--no-checkpointing",
        dest="gradient_checkpointing",
        action="store_false",
        default=None,
        help="no gradient checkpointing (faster, much more memory)",
    )
    p.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        default=None,
        help="start over even if the work folder holds a checkpoint",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="data-parallel processes via accelerate launch (one per GPU; default 1)",
    )
    p.set_defaults(func=run_train)


def build_request(args: argparse.Namespace) -> TrainRequest:
    """The request the options describe (unset options keep the trainer's defaults)."""
    output = str(Path(args.output).absolute())
    fields: dict[str, Any] = {
        "data": str(Path(args.data).absolute()),
        "model": str(Path(args.model).absolute()),
        "output": output,
        "log": str(Path(args.log).absolute())
        if args.log
        else output.removesuffix(".safetensors") + ".loss.jsonl",
    }
    for name in [option[0] for option in _OPTIONS] + ["train_ff", "gradient_checkpointing", "resume"]:
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = str(Path(value).absolute()) if name in ("work_dir", "cache_dir") else value
    preset = preset_by_id(args.preset) if getattr(args, "preset", None) else None
    if preset is not None:
        fields = {**preset.fields(), **fields}
    return TrainRequest(**fields)


def _free_port() -> int:
    # Only for torch.distributed's rendezvous between the local processes, on the loopback interface.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def trainer_command(request_file: Path, processes: int) -> tuple[list[str], dict[str, str]]:
    """The child process's command line and environment."""
    env = dict(os.environ)
    entry = ["-m", "model_runtime.training", str(request_file)]
    if processes <= 1:
        return [sys.executable, *entry], env
    if sys.platform.startswith("linux"):
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # CPU runs: keep Gloo's traffic on the loopback
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        str(processes),
    ]
    launch += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    launch += ["--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port())]
    return launch + entry, env


def run_train(args: argparse.Namespace) -> int:
    require("model", "training")
    try:
        request = build_request(args)
    except ValueError as exc:
        print(f"vivid train: {exc}", file=sys.stderr)
        return 1
    if not request.output.endswith(".safetensors"):
        print("vivid train: the LoRA file must end in .safetensors", file=sys.stderr)
        return 1
    work = Path(request.work_dir or request.output + ".work")
    work.mkdir(parents=True, exist_ok=True)
    request_file = work / "request.json"
    # Only what was given: the trainer fills the preset settings left out for the machine it runs on.
    request_file.write_text(request.model_dump_json(indent=2, exclude_unset=True))
    cmd, env = trainer_command(request_file, args.processes)
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
    view = _View(request.steps, sys.stderr)
    try:
        outcome = _follow(child, view)
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)  # the trainer saves a checkpoint, then says "cancelled"
        outcome = _follow(child, view)
    finally:
        view.close()
    code = child.wait()
    return _finish(outcome, code)


def _follow(child: subprocess.Popen, view: _View) -> dict[str, Any] | None:
    assert child.stdout is not None
    outcome = None
    for line in child.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            view.note(line.rstrip())  # a library printing on stdout; show it, don't fail
            continue
        if event.get("event") in ("succeeded", "failed", "cancelled"):
            outcome = event
        else:
            view.show(event)
    return outcome


def _finish(outcome: dict[str, Any] | None, code: int) -> int:
    if outcome is None:
        print(f"vivid train: the trainer stopped unexpectedly (exit status {code})", file=sys.stderr)
        return code or 1
    if outcome["event"] == "succeeded":
        print(outcome["lora"])
        return 0
    if outcome["event"] == "cancelled":
        print(f"vivid train: {outcome.get('message', 'stopped')}", file=sys.stderr)
        return 130
    print(f"vivid train: {outcome.get('message', 'failed')}", file=sys.stderr)
    return 1


class _View:
    """The trainer's JSON events shown through the command line's :class:`Progress` (over steps)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.progress = Progress(
            "train", total, unit="step", stream=stream, line="{label}: step {done}/{total} {postfix}"
        )

    def note(self, text: str) -> None:
        self.progress.note(text)

    def show(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "log":
            self.note(f"train: {event.get('message', '')}")
        elif kind == "validation":
            self.note(f"train: validation render at step {event.get('step')}: {event.get('path')}")
        elif kind == "metrics" and "val_loss" in event:
            self.note(f"train: val_loss {float(event['val_loss']):.4f} at step {event.get('step')}")
        elif kind == "metrics":
            loss, lr = float(event.get("loss", 0.0)), float(event.get("lr", 0.0))
            self.progress.describe(f"loss {loss:.4f} lr {lr:.2e}")
            self.progress.update(int(event["step"]))
        elif kind == "progress" and not event.get("done"):
            self.progress.describe(str(event.get("message", "")))  # cache filling: "encoding 3/40: …"
            self.progress.update(0)

    def close(self) -> None:
        self.progress.close()
