"""A transfer progress bar (rich) for long transfers on a terminal.

:class:`Transfer` shows nothing for the first ``delay`` seconds (default 2: a short
transfer should not flash a bar), then a bar with the octets so far, the rate and the time
left (when the total is known), on standard error, and clears it at the end. It is
off when ``enabled`` is false: ``--quiet``, or standard output not a terminal.
Lines printed while the bar is up (``print(...)``) appear above it.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Transfer", "wanted"]


def wanted(quiet: bool, stream: Any = None) -> bool:
    """Whether a progress bar belongs on screen: not ``--quiet`` and standard output a terminal."""
    if quiet:
        return False
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Transfer:
    """A progress bar for one transfer: ``update(done, total)`` as octets arrive, ``close()`` at the end."""

    def __init__(self, what: str, *, enabled: bool, delay: float = 2.0, clock: Any = time.monotonic,
                 console: Any = None) -> None:
        self.what = what
        self.enabled = enabled
        self.delay = delay
        self.clock = clock
        self.started = clock()
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self.shown = False

    def update(self, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if self.clock() - self.started < self.delay:
                return
            self._start(total)
        self._progress.update(self._task, completed=done, total=total)

    def _start(self, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        console = self._console or Console(file=sys.stderr)
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=False),
                                  TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self.what, total=total)
        self.shown = True

    def print(self, line: str) -> None:
        """A line of text above the bar (or on standard error when there is no bar)."""
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
