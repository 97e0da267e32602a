"""Sweeps in MLflow: a Hydra callback makes one parent run per ``-m`` sweep of ``hydraops train``; every
job is its child; at the end the parent gets a leaderboard and a tag naming the best child."""

from __future__ import annotations

import atexit
import gc
import json
import os
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

#: The parent run's id, handed to the jobs (the launcher's workers inherit the environment).
PARENT_ENV = "HYDRAOPS_PARENT_RUN_ID"
LEADERBOARD = "leaderboard.json"


class MlflowSweepCallback(Callback):
    """Parent run at sweep start, leaderboard and best child at sweep end (``hydraops train -m`` only); every
    ``hydraops train`` process (a run, a sweep's main process, a launcher's workers) exits without a last
    garbage collection (:func:`exit_without_collecting`)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not _is_train(config):
            return
        exit_without_collecting()
        from mlflow.tracking import MlflowClient

        from hydraops.tracking.lineage import command_line, git_state
        from hydraops.tracking.owners import owner_tags
        from hydraops.tracking.runs import experiment_for_runs

        _connect(config)
        # Creating the experiment here also creates and migrates the store once, before parallel jobs start.
        experiment_id = experiment_for_runs(config.project, OmegaConf.select(config, "stack.artifact_location"))
        tags = {"mlflow.runName": f"sweep {' '.join(_sweep_overrides(config))}"[:250], "hydraops.command": command_line(),
                "hydraops.sweep": "true", **owner_tags(), **git_state(OmegaConf.select(config, "paths.root") or ".")}  # fmt: skip
        parent = MlflowClient().create_run(experiment_id, tags=tags)
        os.environ[PARENT_ENV] = parent.info.run_id

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if _is_train(config):
            exit_without_collecting()  # a single run's process, or a joblib (loky) worker running sweep jobs

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if _is_train(config) and PARENT_ENV in os.environ:
            from hydraops.tracking.connection import tracking_failures

            from hydraops.cli.leaderboard import print_leaderboard

            with tracking_failures(config.stack.tracking_uri, _bounds(config)[0]):
                board = finish_sweep(config, os.environ[PARENT_ENV])
            print_leaderboard(board)
            os.environ.pop(PARENT_ENV)


def exit_without_collecting() -> None:
    """At exit, freeze the garbage collector (``gc.freeze``) before the interpreter shuts down; once per process.

    With MLflow, pandas, LightGBM, scikit-learn and matplotlib loaded, the collections CPython runs while it
    tears the modules down take ~1.2 s: most of the time from a run's end to its exit, and from a sweep's
    last job to its exit (basic launcher 1.3 s; joblib 2.5 s, as its main process waits for the workers to
    do the same). Frozen objects are skipped: 0.15 s (basic), 0.5 s (joblib). Nothing is lost: atexit
    handlers (MLflow's) still run, objects are still released by reference counting as modules are cleared,
    the standard streams are flushed; only objects held by reference cycles alone are left to the operating
    system, which reclaims the process anyway."""
    global _exit_registered
    if not _exit_registered:
        atexit.register(gc.freeze)
        _exit_registered = True


_exit_registered = False


def finish_sweep(config: DictConfig, parent_id: str, failed: bool = False) -> dict[str, Any]:
    """Rank the parent's children by the sweep metric, log the leaderboard, tag the best, end the parent."""
    from mlflow.tracking import MlflowClient

    _connect(config)
    client = MlflowClient()
    parent = client.get_run(parent_id)
    children = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent_id}'", max_results=10_000)
    metric, direction = _objective(config)
    rows = [
        {"run_id": r.info.run_id, "run_name": r.info.run_name, "status": r.info.status, metric: r.data.metrics.get(metric)}
        for r in children
    ]
    scored = [row for row in rows if row[metric] is not None and row["status"] == "FINISHED"]
    scored.sort(key=lambda row: row[metric], reverse=direction == "maximize")
    board = {"metric": metric, "direction": direction, "runs": scored + [row for row in rows if row not in scored]}
    client.log_text(parent_id, json.dumps(board, indent=2), LEADERBOARD)
    if scored:
        client.set_tag(parent_id, "hydraops.best_child", scored[0]["run_id"])
        client.log_metric(parent_id, f"best.{metric}", scored[0][metric])
    everything_finished = rows and all(row["status"] == "FINISHED" for row in rows)
    client.set_terminated(parent_id, "FINISHED" if everything_finished and not failed else "FAILED")
    return board


def fail_open_sweep(status: str = "FAILED") -> None:
    """A sweep that raised ends its parent run, and any child still RUNNING (a launcher's worker stopped with
    it), with ``status``: FAILED, or KILLED when interrupted (Hydra skips on_multirun_end then). The tracking
    URI is still the one on_multirun_start set in this process. Each request is tried once; when the store
    does not answer, the runs stay RUNNING and the next command marks them KILLED (their owners are gone)."""
    parent_id = os.environ.pop(PARENT_ENV, None)
    if not parent_id:
        return
    from mlflow.tracking import MlflowClient

    from hydraops.tracking.connection import one_attempt

    client = MlflowClient()
    with one_attempt():
        try:
            experiment_id = client.get_run(parent_id).info.experiment_id
            running = f"attributes.status = 'RUNNING' and tags.`mlflow.parentRunId` = '{parent_id}'"
            for child in client.search_runs([experiment_id], running, max_results=10_000):
                client.set_terminated(child.info.run_id, status)
            client.set_terminated(parent_id, status)
        except Exception:  # the store is gone: the sweep's own error is the one to report
            pass


def _objective(config: DictConfig) -> tuple[str, str]:
    search = OmegaConf.select(config, "hparams_search")
    if search:
        return str(search.metric), str(search.direction)
    return f"valid.{config.evaluate.primary_metric}", "minimize" if config.evaluate.primary_metric in {"log_loss", "brier", "rmse", "mae"} else "maximize"


def _is_train(config: DictConfig) -> bool:
    return OmegaConf.select(config, "hydra.job.name") == "train"


def _connect(config: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from hydraops.tracking.connection import connect_to

    HydraConfig.instance().set_config(config)  # the sweep's config resolves ${hydra:...} (paths.root) too
    connect_to(config.stack.tracking_uri, config.stack.registry_uri, *_bounds(config))


def _bounds(config: DictConfig) -> tuple[float, int]:
    """``stack.tracking_timeout`` and ``stack.tracking_retries`` (the schema's defaults when unset)."""
    from hydraops.config.schemas import StackSpec

    timeout, retries = OmegaConf.select(config, "stack.tracking_timeout"), OmegaConf.select(config, "stack.tracking_retries")
    return (StackSpec.tracking_timeout if timeout is None else float(timeout)), (StackSpec.tracking_retries if retries is None else int(retries))


def _sweep_overrides(config: DictConfig) -> list[str]:
    from hydraops.config.secrets import Redactor  # the parent run's name shows no password

    return Redactor().command(str(o) for o in OmegaConf.to_container(config.hydra.overrides.task, resolve=False) if not str(o).startswith("hydra"))
