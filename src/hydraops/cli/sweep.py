"""The Hydra callback of ``hydraops train -m``: a parent MLflow run at sweep start (its id handed to the jobs
in ``HYDRAOPS_PARENT_RUN_ID``), the leaderboard and best child at sweep end (``tracking.sweep``)."""

from __future__ import annotations

import atexit
import gc
import os
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from hydraops.cli.context import PARENT_ENV
from hydraops.tracking.handle import Tracking

#: The handle of the sweep opened by this process (fail_open_sweep ends it when the sweep raises).
_open: dict[str, Tracking] = {}


class MlflowSweepCallback(Callback):
    """Parent run at sweep start, leaderboard and best child at sweep end (``hydraops train -m`` only); every
    ``hydraops train`` process (a run, a sweep's main process, a launcher's workers) exits without a last
    garbage collection (:func:`exit_without_collecting`)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not _is_train(config):
            return
        exit_without_collecting()
        from hydraops.cli.context import typed_command
        from hydraops.config.secrets import Redactor
        from hydraops.tracking.lineage import command_line
        from hydraops.tracking.runs import experiment_for_runs
        from hydraops.tracking.sweep import open_sweep

        tracking = _tracking(config)
        # Creating the experiment here also creates and migrates the store once, before parallel jobs start.
        experiment_id = experiment_for_runs(tracking.client, config.project, OmegaConf.select(config, "stack.artifact_location"))
        redactor = Redactor.of(config)  # the parent run's name and command show no password
        name = f"sweep {' '.join(redactor.command(_sweep_overrides(config)))}"
        command = command_line(typed_command(), redactor)
        parent_id = open_sweep(tracking.client, experiment_id, name, command, OmegaConf.select(config, "paths.root") or ".")
        os.environ[PARENT_ENV] = parent_id
        _open[parent_id] = tracking

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if _is_train(config):
            exit_without_collecting()  # a single run's process, or a joblib (loky) worker running sweep jobs

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if _is_train(config) and PARENT_ENV in os.environ:
            from hydraops.cli.leaderboard import print_leaderboard
            from hydraops.tracking.connection import tracking_failures
            from hydraops.tracking.sweep import finish_sweep

            parent_id = os.environ[PARENT_ENV]
            tracking = _open.pop(parent_id, None) or _tracking(config)
            with tracking_failures(tracking.tracking_uri, tracking.timeout):
                board = finish_sweep(tracking.client, parent_id, *_objective(config))
            os.environ.pop(PARENT_ENV)
            print_leaderboard(board)


def fail_open_sweep(status: str = "FAILED") -> None:
    """A sweep that raised ends its parent run, and any child still RUNNING, with ``status``: FAILED, or KILLED
    when interrupted (Hydra skips on_multirun_end then)."""
    from hydraops.tracking.sweep import end_sweep

    parent_id = os.environ.pop(PARENT_ENV, None)
    tracking = _open.pop(parent_id, None) if parent_id else None
    if tracking is not None:
        end_sweep(tracking.client, parent_id, status)


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


def _tracking(config: DictConfig) -> Tracking:
    """The sweep's stores, from its main config (not validated into a spec: the jobs do that)."""
    from hydra.core.hydra_config import HydraConfig

    from hydraops.config.schemas import StackSpec

    HydraConfig.instance().set_config(config)  # the sweep's config resolves ${hydra:...} (paths.root) too
    timeout, retries = OmegaConf.select(config, "stack.tracking_timeout"), OmegaConf.select(config, "stack.tracking_retries")
    uri = config.stack.tracking_uri
    return Tracking(uri, config.stack.registry_uri or uri, StackSpec.tracking_timeout if timeout is None else float(timeout),
                    StackSpec.tracking_retries if retries is None else int(retries))  # fmt: skip


def _objective(config: DictConfig) -> tuple[str, str]:
    from hydraops.tracking.sweep import default_objective

    search = OmegaConf.select(config, "hparams_search")
    if search:
        return str(search.metric), str(search.direction)
    return default_objective(config.evaluate.primary_metric)


def _is_train(config: DictConfig) -> bool:
    return OmegaConf.select(config, "hydra.job.name") == "train"


def _sweep_overrides(config: DictConfig) -> list[str]:
    return [str(o) for o in OmegaConf.to_container(config.hydra.overrides.task, resolve=False) if not str(o).startswith("hydra")]
