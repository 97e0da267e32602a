"""Where verbs print: one rich Console, wide enough for tables when output goes to a file or a pipe."""

from __future__ import annotations

import sys


def console():  # -> rich.console.Console
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)
