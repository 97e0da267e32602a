"""The monitor stage: current data judged against the reference profile of a model version
(``hydraops monitor current=PATH`` or ``window=7d``: the prediction log over that window).

Planning resolves the version (``version``, else the one ``deploy.alias`` designates) through
``Tracking.reader``; the handler reads the version's ``reference_profile.json``, checks the current data in
batches and time chunks (:func:`hydraops.monitoring.check.check`), and in one MLflow run of experiment
``<project>-monitoring`` (:mod:`hydraops.monitoring.run`) writes ``violations.json`` and ``report.html`` in
``monitor.report_dir`` and logs both. The stage plans nothing unless given a current file or a window, so
``hydraops apply`` never monitors.
With labels (a file, ``labels=PATH``, or the declared labels source's files, ``performance=true``), the served
predictions' metric per time chunk is judged too (:func:`hydraops.monitoring.performance.version_performance`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from hydraops.errors import MonitoringError
from hydraops.monitoring.reference import TRAINING
from hydraops.monitoring.report_html import REPORT
from hydraops.monitoring.run import monitoring_experiment
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Result
from hydraops.tracking.reading import designated_version

if TYPE_CHECKING:
    from hydraops.monitoring.check import MonitorReport

VIOLATIONS = "violations.json"


@dataclass(frozen=True, kw_only=True)
class MonitorDrift(Action):
    """Judge ``current`` (a file), or the prediction log at ``log`` over ``[start, end)``, against the reference
    profile of ``model`` version ``version``; write ``output`` (violations.json) and ``html`` (the report); log both
    in a run of ``experiment``. ``log_url``: the log's URL with credentials (or directory) from the machine, never
    shown."""

    stage: ClassVar[str] = "monitor"
    output: Path
    model: str
    version: str
    run_id: str
    current: Path | None = None
    log: str | None = None  # the prediction log's directory or URL (no credentials)
    log_table: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    alias: str | None = None
    chunk_rows: int = 100_000
    labels: tuple[Path, ...] = ()  # labels that arrived: the performance of the logged predictions is judged too
    reference: Path | None = None  # instead of the version's reference profile: a profile JSON or reference rows
    html: Path | None = None  # default: report.html beside ``output``
    experiment: str = ""  # default: <project>-monitoring
    log_url: str | None = field(default=None, compare=False, repr=False)

    @property
    def report(self) -> Path:
        return self.html or self.output.with_name(REPORT)

    @property
    def window(self):
        from hydraops.monitoring.log_data import Window

        return Window(self.start, self.end)

    @property
    def name(self) -> str:
        judged = self.current.name if self.current is not None else f"the prediction log over {self.window}"
        return f"drift of {judged} against {self.model} v{self.version}'s reference profile"

    @property
    def inputs(self) -> tuple[str, ...]:
        via = f" ({self.alias})" if self.alias else ""
        table = f" (table {self.log_table})" if self.log_table and self.log and "://" in self.log else ""
        judged = str(self.current) if self.current is not None else f"{self.log}{table}: rows of {self.model} at {self.window}"
        profile = str(self.reference) if self.reference else f"models:/{self.model}/{self.version}{via}, run {self.run_id}: reference_profile.json"
        read = (judged, profile)
        return (*read, *map(str, self.labels), "stack.prediction_log") if self.labels else read

    @property
    def outputs(self) -> tuple[str, ...]:
        return (str(self.output), str(self.report), f"an MLflow run in experiment {self.experiment or '<project>-monitoring'}")


@dataclass(frozen=True)
class Monitored:
    """What one monitoring gave (the monitor stage's Result value): the report, the files written, the run."""

    report: MonitorReport
    violations: Path
    html: Path
    run_id: str  # the monitoring run
    breach_ids: tuple[str, ...]  # one per violation, in order

    @property
    def breached(self) -> bool:
        return self.report.breached


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), current: Path | None = None, start: datetime | None = None,
         end: datetime | None = None, log_url: str | None = None, version: int | None = None, alias: str | None = None,
         chunk_rows: int = 100_000, labels: Path | None = None, performance: bool = False,
         reference: Path | None = None) -> list[Action]:  # fmt: skip
    """One MonitorDrift when a current file is given (the verb passes ``current=`` or ``monitor.current``), or a
    window ``[start, end)`` of the prediction log (``stack.prediction_log``); none otherwise, so ``apply`` never
    monitors. ``labels`` (a file) or ``performance`` (the declared labels source's files) add the performance of
    the logged predictions."""
    if current is None and start is None:
        return []
    log = table = None
    if current is None:
        log, table = _log_location(spec)
    files = _labels_files(spec, labels) if labels is not None or performance else ()
    if reference is None and spec.monitor.reference != TRAINING:
        reference = Path(os.path.abspath(spec.monitor.reference))
    name = spec.registry.name
    alias = alias or (None if version is not None else spec.deploy.alias)
    found = designated_version(ctx.tracking, name, alias, version, MonitoringError)
    output = Path(spec.monitor.report_dir) / VIOLATIONS
    notes = (f"drift: {spec.monitor.default.numeric_method or 'wasserstein'} (numeric), {spec.monitor.default.categorical_method or 'jensenshannon'} "
             f"(categorical); dataset drift at {spec.monitor.drift_share:g} of the features",)  # fmt: skip
    chunks = f"; per {spec.monitor.chunk} chunk of {spec.monitor.timestamp or ('time' if log else 'the labels timestamp')}" if spec.monitor.chunk else ""
    notes = (notes[0] + chunks,)
    return [MonitorDrift(effect=Effect.check, current=None if current is None else Path(current), log=log, log_table=table, start=start, end=end,
                         output=output, model=name, version=found.version, run_id=found.run_id or "", alias=alias, chunk_rows=chunk_rows,
                         html=output.with_name(REPORT), experiment=monitoring_experiment(spec.project), log_url=log_url, labels=files, reference=reference, notes=notes)]  # fmt: skip


def _log_location(spec) -> tuple[str, str | None]:
    """The prediction log's directory (absolute) or URL (without credentials), and its table (PostgreSQL)."""
    from hydraops.monitoring.log_data import public_url
    from hydraops.serving.prediction_log import resolve

    if spec.stack.prediction_log is None:
        raise MonitoringError("window=... reads the prediction log, but the stack declares none (stack.prediction_log is null)",
                              key="stack.prediction_log", hint="judge a file instead: current=PATH")  # fmt: skip
    kind, where, table = resolve(spec.stack.prediction_log)
    return (os.path.abspath(where), None) if kind == "parquet" else (public_url(where), table)


def _labels_files(spec, labels: Path | None) -> tuple[Path, ...]:
    """The labels to judge performance on: ``labels``, else the declared labels source's files; refused without
    declared labels or a prediction log (the metric is checked with the config)."""
    declared = spec.features.labels
    if declared is None:
        raise MonitoringError("performance needs the labels declared (features.labels: entity, timestamp, target)", key="features.labels")
    if spec.stack.prediction_log is None:
        raise MonitoringError("performance joins the labels to the served predictions: declare stack.prediction_log", key="stack.prediction_log")
    if labels is not None:
        return (Path(labels),)
    from hydraops.features.repo import FeatureRepo

    if spec.data.sources[declared.source].path is None:
        raise MonitoringError(f"the labels source '{declared.source}' is a query: give the labels as a file, labels=PATH", key="labels")
    return tuple(Path(f) for f in FeatureRepo.from_spec(spec).source_files(declared.source))


def monitor_drift(action: MonitorDrift, ctx: RunContext) -> Result:
    """Check the current data; in a monitoring run, write violations.json and report.html and log them. The
    Result's value is a :class:`Monitored` (``breached`` says if any check failed)."""
    from hydraops.config.schemas import Task
    from hydraops.monitoring.check import breach_ids, check, write_violations
    from hydraops.monitoring.current import FileData
    from hydraops.monitoring.log_data import LogData
    from hydraops.monitoring.profile import profile_for_version
    from hydraops.monitoring.quality import declared_checks, known_columns
    from hydraops.monitoring.reference import reference_from
    from hydraops.monitoring.report_html import write_report
    from hydraops.monitoring.run import log_files, monitoring_run

    spec = ctx.spec
    profile = profile_for_version(ctx.tracking.client, action.model, action.version)
    if action.reference is not None:
        profile = reference_from(action.reference, profile)
    if action.current is not None:
        labels = spec.features.labels.timestamp if spec.features.labels else None
        current = FileData(action.current, spec.monitor.timestamp or labels, required=spec.monitor.timestamp is not None)
    else:
        current = LogData(action.log, action.window, action.model, url=action.log_url, table=action.log_table)
    classify_at = spec.evaluate.threshold if spec.evaluate.task == Task.classification else None
    report = check(profile, current, spec.monitor, chunk_rows=action.chunk_rows, classify_at=classify_at,
                   declared=declared_checks(spec.features, spec.data), known=known_columns(spec.features))  # fmt: skip
    if action.labels:
        report = with_performance(report, spec, ctx, action)
    about = {"model": action.model, "version": action.version, "run_id": action.run_id, "data": current.identity, "source": current.source}
    if action.current is not None:
        about["current"] = str(action.current)
    else:
        about.update(prediction_log=action.log, window={"start": action.start.isoformat(), "end": action.end.isoformat()})
    with monitoring_run(ctx, report, about) as run_id:
        write_violations(report, action.output, **about, monitoring_run=run_id)
        when = (ctx.now or datetime.now(UTC)).isoformat(timespec="seconds")
        write_report(report, profile, action.report, **about, monitoring_run=run_id, when=when)
        log_files(ctx, run_id, [action.output, action.report])
    drifted = [r.column for r in report.drift if r.drifted]
    chunks = f", {len(report.chunks)} chunk(s) of {spec.monitor.chunk}" if report.chunks else ""
    versions = f" (versions {', '.join(f'{v}: {n:,}' for v, n in sorted(report.versions.items()))})" if report.versions else ""
    summary = (f"{report.rows:,} rows{versions}{chunks}, {len(report.drift)} columns: {len(drifted)} drifted"
               + (f" ({', '.join(drifted)})" if drifted else "")
               + f"; {len(report.violations)} violation(s) → {action.output}, {action.report.name}; monitoring run {run_id}")  # fmt: skip
    if report.performance is not None:
        judged = [r for r in report.performance.chunks if r.reason is None]
        summary += f"; {report.performance.metric} on {len(judged)} of {len(report.performance.chunks)} chunk(s) of labelled predictions"
    return Result(action, Outcome.checked, summary, Monitored(report, action.output, action.report, run_id, tuple(breach_ids(report, **about))))


def with_performance(report, spec, ctx: RunContext, action: MonitorDrift):
    """``report`` with the performance of the version's logged predictions on ``action.labels`` (within the
    window, when the log is judged), and its violations."""
    from dataclasses import replace

    from hydraops.monitoring.performance import version_performance

    performance = version_performance(spec, ctx.tracking.client, version=action.version, run_id=action.run_id, labels=action.labels,
                                      start=action.start, end=action.end, log=action.log_url)  # fmt: skip
    return replace(report, performance=performance, violations=[*report.violations, *performance.violations])


__all__ = ["REPORT", "VIOLATIONS", "MonitorDrift", "Monitored", "monitor_drift", "plan"]
