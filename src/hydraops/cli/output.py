"""Where verbs print: one rich Console, wide enough for tables when output goes to a file or a pipe."""

from __future__ import annotations

import sys


def console():  # -> rich.console.Console
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def progress(out):  # (a rich Console) -> rich.progress.Progress
    """A progress bar for long work, shown only on a terminal (CI logs stay quiet), gone when it ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=out, transient=True, disable=not out.is_terminal)


def reporter(bar):  # (a rich Progress) -> hydraops.features.progress.Report
    """A Report that shows long work as a second line of ``bar``: what runs and its percent done."""
    from rich.markup import escape

    task = bar.add_task("", total=100, visible=False)

    def report(what: str, percent: float) -> None:
        bar.update(task, description=escape(what), completed=percent, visible=percent < 100)

    return report
