"""``vivid batch JOBS.jsonl``: many shots in one go, side by side on a Ray cluster with ``--ray``.

Each line of JOBS.jsonl is one shot, with the options of ``vivid edit`` as JSON keys::

    {"clip": "shot010.mov", "mask": "shot010-mask.png", "task": "delete", "output": "shot010-clean.mov"}
    {"clip": "shot020.mov", "mask": "masks020/", "task": "modify", "keyframe": ["12=hat.png"],
     "engine": "vivid", "model": "/models/vivid", "output": "shot020-hat.mov", "range": "0:97"}

Relative paths are taken from the folder of JOBS.jsonl. All shots are checked and prepared first (a bad
line stops the batch before any render starts, naming the line), rendered by one runtime as one
``render_batch`` job — on a cluster every shot's independent parts run at once — then exported.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vivid_desktop.cli.edit_cmd import add_cluster_option

#: JSON keys that name files, resolved against the folder of JOBS.jsonl
_PATH_KEYS = ("clip", "mask", "model", "output")


class BatchError(Exception):
    """A line of the batch file that cannot run."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``vivid batch`` to the ``vivid`` command."""
    p = sub.add_parser(
        "batch",
        help="edit many shots from a JSON-lines file (side by side on a Ray cluster with --ray)",
        description="Edit many shots: each line of JOBS.jsonl is one shot with vivid edit's options as JSON "
        'keys, e.g. {"clip": "a.mov", "mask": "a.png", "task": "delete", "output": "a-clean.mov"} '
        "(relative paths from the file's folder). All shots are prepared first, rendered as one batch "
        "(side by side on a Ray cluster with --ray), then exported.",
    )
    p.add_argument("jobs", type=Path, metavar="JOBS.jsonl", help="one shot per line: vivid edit's options")
    p.add_argument("--work", type=Path, metavar="DIR", help="keep the work folders here (a rerun resumes)")
    add_cluster_option(p)
    p.set_defaults(func=run)


def shot_arguments(line: dict, base: Path) -> list[str]:
    """``vivid edit``'s argument list for one JSON line (paths relative to ``base``)."""
    if not isinstance(line, dict):
        raise BatchError("a line must be a JSON object")
    missing = [k for k in ("clip", "mask", "task", "output") if k not in line]
    if missing:
        raise BatchError(f"missing {', '.join(missing)}")
    values = dict(line)
    for key in _PATH_KEYS:
        if key in values:
            values[key] = str((base / str(values[key])).expanduser())
    if "lora" in values:
        values["lora"] = [str(base / str(p)) for p in _as_list(values["lora"])]
    if "keyframe" in values:  # "N=IMAGE": the image, too, is read from the file's folder
        values["keyframe"] = [_keyframe_from(str(k), base) for k in _as_list(values["keyframe"])]
    argv = [values.pop("clip")]
    for key, value in values.items():
        flag = "-o" if key == "output" else f"--{key.replace('_', '-')}"
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        else:
            for item in _as_list(value):
                argv += [flag, str(item)]
    return argv


def _keyframe_from(text: str, base: Path) -> str:
    number, sep, image = text.partition("=")
    return f"{number}={(base / image).expanduser()}" if sep and image else text


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting: a batch names the bad line."""

    def error(self, message: str):
        raise BatchError(message)


def _edit_parser() -> argparse.ArgumentParser:
    from vivid_desktop.cli import edit_cmd

    root = _Parser(prog="vivid")
    edit_cmd.register(root.add_subparsers(parser_class=_Parser))
    return root


def read_batch(path: Path) -> list[argparse.Namespace]:
    """Every line of the batch file parsed as ``vivid edit`` would; a bad line raises naming it."""
    parser = _edit_parser()
    shots = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"cannot read {path}: {exc}") from None
    for number, text in enumerate(lines, start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            argv = ["edit", *shot_arguments(json.loads(text), path.parent.resolve())]
            shots.append(parser.parse_args(argv))
        except (json.JSONDecodeError, BatchError) as exc:
            raise BatchError(f"{path.name} line {number}: {exc}") from None
    if not shots:
        raise BatchError(f"{path.name} holds no shots")
    if any(s.output is None for s in shots):
        raise BatchError(f"{path.name}: every shot needs an output")
    outputs = [s.output.resolve() for s in shots]
    if len(set(outputs)) != len(outputs):
        raise BatchError(f"{path.name}: two shots write the same output file")
    return shots


def run(args: argparse.Namespace) -> int:
    from vivid_desktop.cli import edit_cmd
    from vivid_desktop.media.errors import MediaError
    from vivid_desktop.runtime_client import RuntimeClientError

    try:
        shots = read_batch(args.jobs)
        with edit_cmd._work_folder(args.work) as work:
            _batch(shots, work, args.ray)
    except (edit_cmd.Cancelled, KeyboardInterrupt):
        print("vivid batch: cancelled", file=sys.stderr)
        return 130
    except (BatchError, edit_cmd.EditError, MediaError, RuntimeClientError, OSError) as exc:
        print(f"vivid batch: {exc}", file=sys.stderr)
        return 1
    for shot in shots:
        print(shot.output)
    return 0


def _batch(shots: list[argparse.Namespace], work: Path, cluster: str | None) -> None:
    from vivid_desktop.cli import edit_cmd
    from vivid_desktop.protocol.jobs import RenderBatch
    from vivid_desktop.render_folder import done_frames

    with edit_cmd._runtime(work) as sup:
        prepared = []
        for i, shot in enumerate(shots):
            edit_cmd._check_engine(sup, shot.engine)
            folder = work / f"shot-{i:03d}"
            folder.mkdir(exist_ok=True)
            prepared.append(edit_cmd.prepare_shot(sup, shot, folder))
        batch = RenderBatch(plans=[s.plan for s in prepared], cluster=cluster)
        total = sum(len(s.frames) for s in prepared)
        done = sum(len(done_frames(s.plan.output_dir)) for s in prepared)
        edit_cmd._render(sup, batch, total, done)
    for ready, args in zip(prepared, shots, strict=True):
        edit_cmd.export_shot(ready, args)
