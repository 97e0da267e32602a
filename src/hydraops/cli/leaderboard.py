"""What ``hydraops train -m`` prints at its end: the sweep's leaderboard and its best child.

print_leaderboard(finish_sweep(config, parent_id))   # the dict finish_sweep logs as leaderboard.json
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def leaderboard_table(board: Mapping[str, Any]):  # -> rich.table.Table
    """One row per job, best first (ranked jobs: FINISHED with the sweep metric; the others after, unranked)."""
    from rich.markup import escape
    from rich.table import Table

    metric = board["metric"]
    table = Table("rank", "run", metric, "status", "run id", title=f"sweep leaderboard ({metric}, {board['direction']})")
    rank = 0
    for row in board["runs"]:
        value = row.get(metric)
        ranked = value is not None and row["status"] == "FINISHED"
        rank += ranked
        cells = (str(rank) if ranked else "-", escape(str(row.get("run_name") or "")),
                 "-" if value is None else f"{value:.4f}", row["status"], row["run_id"])  # fmt: skip
        table.add_row(*cells, style="bold" if ranked and rank == 1 else None)
    return table


def best_child_line(board: Mapping[str, Any]) -> str:
    """Which job won and how to promote it; or why there is no winner."""
    metric, runs = board["metric"], board["runs"]
    best = runs[0] if runs and runs[0].get(metric) is not None and runs[0]["status"] == "FINISHED" else None
    if best is None:
        return f"no best child: no job finished with {metric} ({len(runs)} job(s))"
    return (
        f"best child: {best['run_name']} (run {best['run_id']}), {metric} {best[metric]:.4f}\n"
        "promote it: hydraops promote   (the default candidate, latest, picks a sweep's best child)"
    )


def print_leaderboard(board: Mapping[str, Any], out=None) -> None:
    """Print the leaderboard table and the best-child line (to ``out``, default the verbs' console)."""
    if out is None:
        from hydraops.cli.output import console

        out = console()
    if board["runs"]:
        out.print(leaderboard_table(board))
    out.print(best_child_line(board), markup=False, highlight=False)


__all__ = ["best_child_line", "leaderboard_table", "print_leaderboard"]
