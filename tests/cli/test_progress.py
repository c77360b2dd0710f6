"""The command line's one progress display: plain lines when piped, a tqdm bar on a terminal."""

from __future__ import annotations

import io

from vivid_desktop.cli import progress as progress_mod
from vivid_desktop.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_progress_prints_throttled_plain_lines_and_always_the_last(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    with Progress("export", 5, stream=out) as p:
        for done, t in zip(range(1, 6), [100.0, 100.5, 101.0, 102.1, 102.2], strict=True):
            now[0] = t
            p.update(done)  # lines at 100.0 (the first), 102.1 (2 s later) and at the end
    assert out.getvalue().splitlines() == [
        "export: 1/5 frames (20%)",
        "export: 4/5 frames (80%)",
        "export: 5/5 frames (100%)",
    ]


def test_advance_describe_and_a_custom_line():
    out = io.StringIO()
    with Progress(
        "train", 3, unit="step", stream=out, initial=2, line="{label}: step {done}/{total} {postfix}"
    ) as p:
        p.describe("loss 0.5000")
        p.advance()
        p.note("train: a note")
    assert out.getvalue().splitlines() == ["train: step 3/3 loss 0.5000", "train: a note"]


def test_a_terminal_gets_one_bar_that_notes_do_not_break():
    out = Terminal()
    with Progress("rendering", 4, initial=1, stream=out) as p:
        p.advance(2)
        p.note("vivid edit: cancelling…")
        assert p.bar is not None and p.bar.n == 3 and p.bar.total == 4
    assert p.bar is None
    text = out.getvalue()
    assert "rendering" in text and "vivid edit: cancelling…\n" in text and "3/4" in text
