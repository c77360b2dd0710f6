"""mypy, as configured for CI, refuses a listener that reads a field its event does not have.

The events are typed per kind so that this is a type error, not a silent ``None`` at run time. One mypy
run checks a listener module with wrong field accesses and a copy of the real undo recorder with a wrong
field (``--shadow-file``, so ``pyproject.toml``'s strict settings for ``vivid_desktop.core.undo`` apply).
The Qt views' listeners are under CI's own mypy run (qt/ included).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNDO = "vivid_desktop/core/undo.py"

LISTENERS = """
from pathlib import Path

from vivid_desktop.core.project import Project
from vivid_desktop.core.project_events import EditAdded, KeyframeChanged, ProjectEvent
from vivid_desktop.core.store_events import Saved


def on_any(ev: ProjectEvent) -> None:
    print(ev.edit_id)  # WRONG: a NameChanged has no edit_id


def on_added(ev: ProjectEvent) -> None:
    if isinstance(ev, EditAdded):
        print(ev.edit_id, ev.index, ev.edit.id)
        print(ev.frame)  # WRONG
    match ev:
        case KeyframeChanged(edit_id=eid, frame=frame, field=field):
            print(eid, frame, field, ev.old, ev.value)
        case EditAdded(render_id=rid):  # WRONG
            print(rid)


def wire(p: Project) -> None:
    p.events.edit_added.connect(lambda ev: print(ev.index))
    p.events.edit_added.connect(lambda ev: print(ev.old))  # WRONG
    p.events.emit(Saved(path=Path()))  # WRONG: not a project event
"""


def _wrong_lines(text: str) -> set[int]:
    return {n for n, line in enumerate(text.splitlines(), 1) if "# WRONG" in line}


def _mutate_recorder(source: str) -> str:
    """The undo recorder reading a field that EditMoved does not have, and one untyped listener."""
    moved = "case EditMoved(edit_id=eid, old=old, index=index):"
    assert source.count(moved) == 1, "the undo recorder changed: update this test's mutation"
    source = source.replace(moved, moved.replace("):", ", frame=frame):  # WRONG"))
    typed = "def _on_event(self, ev: ProjectEvent) -> None:"
    assert source.count(typed) == 1
    return source.replace(typed, "def _on_event(self, ev):  # WRONG: untyped")


def test_mypy_refuses_listeners_that_read_fields_their_event_lacks(tmp_path: Path):
    listeners = tmp_path / "listeners.py"
    listeners.write_text(LISTENERS)
    recorder = tmp_path / "undo.py"
    recorder.write_text(_mutate_recorder((ROOT / UNDO).read_text()))
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
    cmd += [
        "--cache-dir",
        str(tmp_path / "cache"),
        "--shadow-file",
        UNDO,
        str(recorder),
        UNDO,
        str(listeners),
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr

    found: dict[str, set[int]] = {}
    for path, line in re.findall(r"^(.+?):(\d+): error:", done.stdout, re.MULTILINE):
        found.setdefault(Path(path).name, set()).add(int(line))
    assert found.pop("listeners.py") == _wrong_lines(LISTENERS), done.stdout
    # The untyped listener is an error itself, and so is the call of it; the wrong pattern field too.
    wrong = _wrong_lines(recorder.read_text())
    errors = found.pop("undo.py")
    assert wrong <= errors and len(errors - wrong) <= 1, done.stdout
    assert not found, done.stdout
