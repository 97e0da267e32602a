"""Sweeps in MLflow: one parent run per ``-m`` sweep of ``hydraops train``, every job its child; at the end
the parent gets a leaderboard and a tag naming the best child. Plain values and a client in, nothing read from
Hydra or the environment (the Hydra callback that calls these is ``hydraops.cli.sweep``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydraops.tracking import tags as T

LEADERBOARD = "leaderboard.json"
#: Metrics where lower is better (the sweep objective's default direction follows the primary metric).
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae"})


def default_objective(primary_metric: str) -> tuple[str, str]:
    """The sweep's objective when ``hparams_search`` declares none: the primary metric on valid."""
    return f"valid.{primary_metric}", "minimize" if primary_metric in LOWER_IS_BETTER else "maximize"


def open_sweep(client, experiment_id: str, name: str, command: str, root: Path | str) -> str:
    """The sweep's parent run, owned by this process; its id."""
    from hydraops.tracking.lineage import source_tags
    from hydraops.tracking.owners import owner_tags

    tags = {T.RUN_NAME: name[:250], T.COMMAND: command, T.SWEEP: "true", **owner_tags(), **source_tags(command, root)}
    return client.create_run(experiment_id, tags=tags).info.run_id


def finish_sweep(client, parent_id: str, metric: str, direction: str, failed: bool = False) -> dict[str, Any]:
    """Rank the parent's children by ``metric`` (``direction``: maximize or minimize), log the leaderboard, tag
    the best, end the parent (FAILED when ``failed`` or a child did not finish)."""
    parent = client.get_run(parent_id)
    children = client.search_runs([parent.info.experiment_id], f"tags.`{T.PARENT_RUN}` = '{parent_id}'", max_results=10_000)
    rows = [{"run_id": r.info.run_id, "run_name": r.info.run_name, "status": r.info.status, metric: r.data.metrics.get(metric)} for r in children]
    scored = [row for row in rows if row[metric] is not None and row["status"] == "FINISHED"]
    scored.sort(key=lambda row: row[metric], reverse=direction == "maximize")
    board = {"metric": metric, "direction": direction, "runs": scored + [row for row in rows if row not in scored]}
    client.log_text(parent_id, json.dumps(board, indent=2), LEADERBOARD)
    if scored:
        client.set_tag(parent_id, T.BEST_CHILD, scored[0]["run_id"])
        client.log_metric(parent_id, f"best.{metric}", scored[0][metric])
    everything_finished = rows and all(row["status"] == "FINISHED" for row in rows)
    client.set_terminated(parent_id, "FINISHED" if everything_finished and not failed else "FAILED")
    return board


def end_sweep(client, parent_id: str, status: str = "FAILED") -> None:
    """A sweep that raised: end its parent run, and any child still RUNNING (a launcher's worker stopped with
    it), with ``status`` (FAILED, or KILLED when interrupted). Each request is tried once; when the store does
    not answer, the runs stay RUNNING and the next command marks them KILLED (their owners are gone)."""
    from hydraops.tracking.connection import one_attempt

    with one_attempt():
        try:
            experiment_id = client.get_run(parent_id).info.experiment_id
            running = f"attributes.status = 'RUNNING' and tags.`{T.PARENT_RUN}` = '{parent_id}'"
            for child in client.search_runs([experiment_id], running, max_results=10_000):
                client.set_terminated(child.info.run_id, status)
            client.set_terminated(parent_id, status)
        except Exception:  # noqa: BLE001 - the store is gone: the sweep's own error is the one to report
            pass


__all__ = ["LEADERBOARD", "default_objective", "end_sweep", "finish_sweep", "open_sweep"]
