"""``vivid doctor``: what this machine has for VIVID Desktop, what is missing, and the command to fix it.

``vivid doctor --gui`` checks only what the editor's window needs (the installer runs it before
``run``); it exits 1 with one line when the window cannot open.
"""

from __future__ import annotations

import argparse
import sys

from vivid_desktop.system import doctor, qtlibs


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check this machine: Python, torch/CUDA, GPU, FFmpeg, Qt's system libraries, folders, models",
        description="Report what VIVID Desktop finds on this machine and what is missing for the editor and "
        "each engine, with the command that fixes it. Exits 1 when something needed is missing.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--gui", action="store_true", help="only check that the editor's window can open (fast; no torch)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.gui:
        problem = qtlibs.gui_problem()
        if problem:
            print(f"vivid-desktop cannot open its window: {problem}", file=sys.stderr)
            return 1
        return 0
    findings = doctor.run_checks()
    if args.json:
        print(doctor.as_json(findings))
    else:
        width = max(len(f.topic) for f in findings)
        for f in findings:
            print(f"{f.topic:<{width}}  {f.found}")
            if f.problem:
                print(f"{'':<{width}}  ✗ {f.problem}")
            if f.hint:
                print(f"{'':<{width}}  → {f.hint}")
    problems = [f for f in findings if f.problem]
    if not args.json:
        print("everything needed is here" if not problems else f"{len(problems)} problem(s) found")
    return 1 if problems else 0
