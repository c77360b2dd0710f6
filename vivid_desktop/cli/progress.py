"""The command line's one progress display: a tqdm bar on a terminal, throttled plain lines otherwise.

Usage::

    with Progress("export", total) as progress:
        export_folder(..., progress=progress.update)      # update(done, total=None): absolute counts
    with Progress("rendering", total, initial=done_before) as progress:
        progress.advance()                                # one more frame
        progress.describe("window 2/3: step 4/50")        # shown beside the bar / on the next plain line
        progress.note("vivid edit: cancelling…")          # a line of its own, without breaking the bar

Plain lines (a pipe, a log file, CI) come at most every :data:`PLAIN_INTERVAL_S` seconds and at the end,
formatted by ``line`` (fields: ``label``, ``done``, ``total``, ``unit``, ``pct``, ``postfix``).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

#: Seconds between two plain progress lines.
PLAIN_INTERVAL_S = 2.0
DEFAULT_LINE = "{label}: {done}/{total} {unit}s ({pct}%)"


class Progress:
    """One progress display for a command (see the module docstring); a context manager."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "frame",
        stream: TextIO | None = None,
        initial: int = 0,
        line: str = DEFAULT_LINE,
    ) -> None:
        self.label, self.total, self.unit, self.line = label, total, unit, line
        self.stream = stream if stream is not None else sys.stderr
        self.done = initial
        self.postfix = ""
        self.bar: Any = None
        self._last_line = 0.0
        self._tty = self.stream.isatty()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` units of ``total`` (when given, it replaces the total) are finished."""
        if total is not None:
            self.total = total
        self.done = done
        if self._tty:
            bar = self._bar()
            bar.total = self.total
            bar.update(done - bar.n)
        elif done == self.total or time.monotonic() - self._last_line >= PLAIN_INTERVAL_S:
            self._plain()

    def advance(self, count: int = 1) -> None:
        """``count`` more units are finished."""
        self.update(self.done + count)

    def describe(self, text: str) -> None:
        """What is being done now: beside the bar, or at the end of the next plain line."""
        self.postfix = text
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def note(self, text: str) -> None:
        """A line of its own (a warning, a validation render) that does not break the bar."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _bar(self) -> Any:
        if self.bar is None:
            from tqdm import tqdm

            tqdm.monitor_interval = 0  # the monitor thread would outlive the command (and leak in tests)
            self.bar = tqdm(
                total=self.total,
                initial=self.done,
                unit=self.unit,
                desc=self.label,
                file=self.stream,
                dynamic_ncols=True,
            )
        return self.bar

    def _plain(self) -> None:
        self._last_line = time.monotonic()
        total = self.total if self.total is not None else "?"
        pct = 100 * self.done // max(1, self.total or 0) if self.total else 0
        fields = {"label": self.label, "done": self.done, "total": total, "unit": self.unit, "pct": pct}
        text = self.line.format(**fields, postfix=self.postfix).rstrip()
        print(text, file=self.stream, flush=True)
