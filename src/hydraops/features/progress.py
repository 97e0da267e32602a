"""Progress of long DuckDB statements, for whoever shows it (the CLI's bar on a terminal)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Where long work says how far it is: (what runs, percent done).
Report = Callable[[str, float], None]


def execute(con, sql: str, *, what: str, report: Report | None = None):
    """Run ``sql`` on ``con``; while it runs, ``report(what, percent)`` every 0.2 s from DuckDB's own
    estimate (``query_progress``). Without ``report`` it is ``con.execute(sql)``."""
    with watching(con, what, report):
        return con.execute(sql)


@contextmanager
def watching(con, what: str, report: Report | None) -> Iterator[None]:
    """While the block runs statements on ``con``, ``report(what, percent)`` every 0.2 s (0 first, 100 last)."""
    if report is None:
        yield
        return
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            percent = con.query_progress()
            if percent >= 0:
                report(what, percent)

    watcher = threading.Thread(target=poll, name="duckdb-progress", daemon=True)
    report(what, 0.0)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        report(what, 100.0)
