"""Progress of a long run on standard error: one line, rewritten per input, on a terminal only.

Nothing is shown for the first DELAY_S seconds (most runs are done by then), nor when standard
error is not a terminal (a CI log or a pipe would fill with carriage returns).
"""

from __future__ import annotations

import time
from typing import Callable, TextIO

from .report.escape import printable

DELAY_S = 1.0
_ERASE_LINE = "\r\033[K"


class Progress:
    """Called with each input's name as it is checked; close() erases the line."""

    def __init__(self, stream: TextIO, total: int, clock: Callable[[], float] = time.monotonic):
        self.stream, self.total, self.clock = stream, total, clock
        self.started = clock()
        self.checked = 0
        self.shown = False

    @classmethod
    def on_terminal(cls, stream: TextIO, total: int) -> "Progress | None":
        return cls(stream, total) if stream.isatty() else None

    def __call__(self, name: str) -> None:
        self.checked += 1
        if self.clock() - self.started < DELAY_S:
            return
        self.stream.write(f"{_ERASE_LINE}pdcheck: checking {self.checked}/{self.total} {printable(name)}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write(_ERASE_LINE)
            self.stream.flush()
            self.shown = False
