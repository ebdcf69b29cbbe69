"""Progress reporting for long jobs, kept independent of any UI.

The library reports through `Progress`; the CLI passes a rich implementation (bar, rate, ETA),
scripts and tests pass nothing (a silent one).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, label: str, total: int | None) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


class SilentProgress:
    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class RichProgress:
    """A rich progress bar with rate and ETA, one task per `start`. Writes to stderr so --json
    stdout stays clean."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress as _RichProgress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = None
        self._started = False

    def start(self, label: str, total: int | None) -> None:
        if not self._started:
            self._bar.start()
            self._started = True
        self._task = self._bar.add_task(label, total=total, rate="")

    def advance(self, n: int = 1) -> None:
        if self._task is None:
            return
        self._bar.advance(self._task, n)
        speed = next((t.speed for t in self._bar.tasks if t.id == self._task), None)
        if speed:
            self._bar.update(self._task, rate=f"{speed:5.1f}/s")

    def finish(self) -> None:
        if self._started:
            self._bar.stop()
            self._started = False
        self._task = None
