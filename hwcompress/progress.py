"""Progress of long steps (FINN's build steps, verification batches), told to whoever shows it.

A ``Progress`` is any callable ``progress(task, done, total, detail)``: ``done`` of ``total`` units of ``task``
are finished and ``detail`` names what comes next. The CLI draws a bar on a terminal and prints plain lines
elsewhere; library callers pass nothing and hear nothing.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, task: str, done: int, total: int, detail: str = "") -> None: ...


def no_progress(task: str, done: int, total: int, detail: str = "") -> None:
    """The default: progress goes nowhere."""
