"""Progress of long DuckDB statements, for whoever shows it (the CLI's bar on a terminal)."""

from __future__ import annotations

import threading
from collections.abc import Callable

#: Where long work says how far it is: (what runs, percent done).
Report = Callable[[str, float], None]


def execute(con, sql: str, *, what: str, report: Report | None = None):
    """Run ``sql`` on ``con``; while it runs, ``report(what, percent)`` every 0.2 s from DuckDB's own
    estimate (``query_progress``). Without ``report`` it is ``con.execute(sql)``."""
    if report is None:
        return con.execute(sql)
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
        return con.execute(sql)
    finally:
        done.set()
        watcher.join()
        report(what, 100.0)
