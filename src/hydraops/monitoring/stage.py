"""The monitor stage: a current data file judged against the reference profile of a model version
(``hydraops monitor current=PATH``).

Planning resolves the version (``version``, else the one ``deploy.alias`` designates) through
``Tracking.reader``; the handler reads the version's ``reference_profile.json``, checks the file in chunks
(:func:`hydraops.monitoring.check.check_file`) and writes ``violations.json`` in ``monitor.report_dir``. The
stage plans nothing unless given a current file, so ``hydraops apply`` never monitors. With labels (a file,
``labels=PATH``, or the declared labels source's files, ``performance=true``), the served predictions' metric
per time chunk is judged too (:func:`hydraops.monitoring.performance.version_performance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from hydraops.errors import MonitoringError
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Result
from hydraops.tracking.reading import designated_version

VIOLATIONS = "violations.json"


@dataclass(frozen=True, kw_only=True)
class MonitorDrift(Action):
    """Judge ``current`` against the reference profile of ``model`` version ``version``; write ``output``."""

    stage: ClassVar[str] = "monitor"
    current: Path
    output: Path
    model: str
    version: str
    run_id: str
    alias: str | None = None
    chunk_rows: int = 100_000
    labels: tuple[Path, ...] = ()  # labels that arrived: the performance of the logged predictions is judged too

    @property
    def name(self) -> str:
        return f"drift of {self.current.name} against {self.model} v{self.version}'s reference profile"

    @property
    def inputs(self) -> tuple[str, ...]:
        via = f" ({self.alias})" if self.alias else ""
        read = (str(self.current), f"models:/{self.model}/{self.version}{via}, run {self.run_id}: reference_profile.json")
        return (*read, *map(str, self.labels), "stack.prediction_log") if self.labels else read

    @property
    def outputs(self) -> tuple[str, ...]:
        return (str(self.output),)


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), current: Path | None = None, version: int | None = None,
         alias: str | None = None, chunk_rows: int = 100_000, labels: Path | None = None, performance: bool = False) -> list[Action]:  # fmt: skip
    """One MonitorDrift when a current file is given (the verb passes ``current=`` or ``monitor.current``); none
    otherwise, so ``apply`` never monitors. ``labels`` (a file) or ``performance`` (the declared labels source's
    files) add the performance of the logged predictions."""
    if current is None:
        return []
    files = _labels_files(spec, labels) if labels is not None or performance else ()
    name = spec.registry.name
    alias = alias or (None if version is not None else spec.deploy.alias)
    found = designated_version(ctx.tracking, name, alias, version, MonitoringError)
    output = Path(spec.monitor.report_dir) / VIOLATIONS
    notes = (f"drift: {spec.monitor.default.numeric_method or 'wasserstein'} (numeric), {spec.monitor.default.categorical_method or 'jensenshannon'} "
             f"(categorical); dataset drift at {spec.monitor.drift_share:g} of the features",)  # fmt: skip
    return [MonitorDrift(effect=Effect.check, current=Path(current), output=output, model=name, version=found.version,
                         run_id=found.run_id or "", alias=alias, chunk_rows=chunk_rows, notes=notes,
                         labels=files)]  # fmt: skip


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
    """Check the file, write violations.json; the Result's value is the MonitorReport (``breached`` says if any check failed)."""
    from hydraops.monitoring.check import check_file, write_violations
    from hydraops.monitoring.profile import profile_for_version
    from hydraops.monitoring.quality import declared_checks, known_columns

    spec = ctx.spec
    profile = profile_for_version(ctx.tracking.client, action.model, action.version)
    report = check_file(profile, action.current, spec.monitor, chunk_rows=action.chunk_rows, declared=declared_checks(spec.features, spec.data),
                        known=known_columns(spec.features))  # fmt: skip
    if action.labels:
        report = with_performance(report, spec, ctx, action)
    about = {"model": action.model, "version": action.version, "run_id": action.run_id, "current": str(action.current)}
    write_violations(report, action.output, **about)
    drifted = [r.column for r in report.drift if r.drifted]
    summary = (f"{report.rows:,} rows, {len(report.drift)} columns: {len(drifted)} drifted" + (f" ({', '.join(drifted)})" if drifted else "")
               + f"; {len(report.violations)} violation(s) → {action.output}")  # fmt: skip
    if report.performance is not None:
        judged = [r for r in report.performance.chunks if r.reason is None]
        summary += f"; {report.performance.metric} on {len(judged)} of {len(report.performance.chunks)} chunk(s) of labelled predictions"
    return Result(action, Outcome.checked, summary, report)


def with_performance(report, spec, ctx: RunContext, action: MonitorDrift):
    """``report`` with the performance of the version's logged predictions on ``action.labels``, and its violations."""
    from dataclasses import replace

    from hydraops.monitoring.performance import version_performance

    performance = version_performance(spec, ctx.tracking.client, version=action.version, run_id=action.run_id, labels=action.labels)
    return replace(report, performance=performance, violations=[*report.violations, *performance.violations])


__all__ = ["VIOLATIONS", "MonitorDrift", "monitor_drift", "plan"]
