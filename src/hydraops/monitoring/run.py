"""Each monitoring is an MLflow run in experiment ``<project>-monitoring``, through the RunContext's client.

    with monitoring_run(ctx, report, about) as run_id:      # tags and metrics logged; FINISHED (or FAILED) after
        ...write violations.json and report.html...
        log_files(ctx, run_id, [violations, html])

Tags (:mod:`hydraops.tracking.tags`): the monitored model and version, ``breached`` (``true``/``false``), the
breach ids (:func:`~hydraops.monitoring.check.breach_ids`, comma-separated, as many as MLflow's tag limit holds:
violations.json has them all), the command, config digest and MLflow's source tags. Metrics:
``dataset_drift_share``, ``rows``, ``violations``, ``violations.<check>`` per kind, ``drift.<column>`` (the
column's statistic over the whole data) and ``chunk.drift.<column>`` per time chunk (step = the chunk's index).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hydraops.monitoring.check import MonitorReport, breach_ids
from hydraops.plan.context import RunContext
from hydraops.tracking import tags as T

MAX_TAG = 8000  # MLflow's limit on a tag value
BATCH = 1000  # MLflow's limit on the metrics of one log_batch


def monitoring_experiment(project: str) -> str:
    """``<project>-monitoring``: where the monitoring runs of ``project`` go."""
    return f"{project}-monitoring"


@contextmanager
def monitoring_run(ctx: RunContext, report: MonitorReport, about: Mapping[str, Any]) -> Iterator[str]:
    """Open the run of one monitoring of ``about['model']`` v``about['version']`` (tags and metrics logged) and
    yield its id; it ends FINISHED, or FAILED when the block fails."""
    from hydraops.tracking.connection import tracking_failures
    from hydraops.tracking.lineage import source_tags
    from hydraops.tracking.runs import experiment_for_runs, tracked_run

    spec, client = ctx.spec, ctx.tracking.client
    tags = {
        **source_tags(ctx.command or "hydraops monitor", spec.paths.root), T.COMMAND: ctx.command, T.CONFIG_DIGEST: ctx.config_digest,
        T.MONITORED_MODEL: str(about.get("model")), T.MONITORED_VERSION: str(about.get("version")),
        T.BREACHED: str(report.breached).lower(), T.BREACH_IDS: _joined(dict.fromkeys(breach_ids(report, **about))),
    }  # fmt: skip
    name = f"{about.get('model')} v{about.get('version')}: {Path(str(about.get('current', ''))).name or about.get('data', '')}"[:250]
    with tracking_failures(ctx.tracking.tracking_uri, ctx.tracking.timeout):
        experiment_id = experiment_for_runs(client, monitoring_experiment(spec.project), spec.stack.artifact_location)
        with tracked_run(client, experiment_id, name, tags) as run:
            metrics = _metrics(report, ctx.now or datetime.now(UTC))
            for start in range(0, len(metrics), BATCH):
                client.log_batch(run.info.run_id, metrics=metrics[start : start + BATCH])
            yield run.info.run_id


def log_files(ctx: RunContext, run_id: str, files: Sequence[Path]) -> None:
    """Log ``files`` as artifacts of the run, at its root."""
    for path in files:
        ctx.tracking.client.log_artifact(run_id, str(path))


def metric_name(name: str) -> str:
    """``name`` with the characters MLflow refuses in a metric key as ``_``."""
    return re.sub(r"[^A-Za-z0-9_.\- ]", "_", name)[:250]


def _metrics(report: MonitorReport, now: datetime) -> list:
    from mlflow.entities import Metric

    stamp = int(now.timestamp() * 1000)
    values = {"dataset_drift_share": report.dataset.share, "rows": float(report.rows), "violations": float(len(report.violations))}
    for check in sorted({v.check for v in report.violations}):
        values[metric_name(f"violations.{check}")] = float(sum(v.check == check for v in report.violations))
    values.update({metric_name(f"drift.{r.column}"): r.statistic for r in report.drift})
    metrics = [Metric(key, float(value), stamp, 0) for key, value in values.items()]
    for step, chunk in enumerate(report.chunks):
        metrics += [Metric(metric_name(f"chunk.drift.{r.column}"), float(r.statistic), stamp, step) for r in chunk.drift]
    return metrics


def _joined(ids: Iterable[str]) -> str:
    """The ids comma-separated, as many whole ones as fit in a tag."""
    text = ""
    for breach in ids:
        longer = f"{text},{breach}" if text else breach
        if len(longer) > MAX_TAG:
            break
        text = longer
    return text


__all__ = ["log_files", "metric_name", "monitoring_experiment", "monitoring_run"]
