"""Progress of counted work on the command line (the buffer writes of a deploy): a bar redrawn in place on a
terminal, plain lines (at most one per tenth of the work) when the output is a file or a pipe, so logs stay
readable. Written to stderr, as progress is, so stdout stays the command's result."""
from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, *, width: int = 30, unit: str = "chunks") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.unit = unit
        self.total = self.done = 0
        self.label = ""
        self._tty = False
        self._last_tenth = -1
        self._printed = -1  # `done` when the last plain line was written

    def start(self, total: int, done: int, label: str) -> None:
        self.total, self.done, self.label = total, done, label
        isatty = getattr(self.stream, "isatty", None)
        self._tty = bool(isatty and isatty())
        self._last_tenth = -1
        self._show(force=True)

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        self._show()

    def finish(self) -> None:
        if self._tty:
            self.stream.write("\n")
        elif self.done != self._printed:
            self._line()
        self.stream.flush()

    def _percent(self) -> int:
        return 100 if self.total == 0 else self.done * 100 // self.total

    def _line(self) -> None:
        self._printed = self.done
        self.stream.write(f"  {self.label}: {self.done}/{self.total} {self.unit} written ({self._percent()}%)\n")

    def _show(self, force: bool = False) -> None:
        if self._tty:
            filled = self.width if self.total == 0 else self.done * self.width // self.total
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r  {self.label} [{bar}] {self.done}/{self.total} {self.unit} {self._percent():3d}%")
            self.stream.flush()
            return
        tenth = self._percent() // 10
        if force or tenth > self._last_tenth:
            self._last_tenth = tenth
            self._line()
