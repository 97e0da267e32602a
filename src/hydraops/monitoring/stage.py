"""The monitor stage: a current data file judged against the reference profile of a model version
(``hydraops monitor current=PATH``).

Planning resolves the version (``version``, else the one ``deploy.alias`` designates) through
``Tracking.reader``; the handler reads the version's ``reference_profile.json``, checks the file in chunks
(:func:`hydraops.monitoring.check.check_file`), and in one MLflow run of experiment ``<project>-monitoring``
(:mod:`hydraops.monitoring.run`) writes ``violations.json`` and ``report.html`` in ``monitor.report_dir`` and
logs both. The stage plans nothing unless given a current file, so ``hydraops apply`` never monitors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from hydraops.errors import MonitoringError
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
    """Judge ``current`` against the reference profile of ``model`` version ``version``; write ``output``
    (violations.json) and ``html`` (the report); log both in a run of ``experiment``."""

    stage: ClassVar[str] = "monitor"
    current: Path
    output: Path
    model: str
    version: str
    run_id: str
    alias: str | None = None
    chunk_rows: int = 100_000
    html: Path | None = None  # default: report.html beside ``output``
    experiment: str = ""  # default: <project>-monitoring

    @property
    def report(self) -> Path:
        return self.html or self.output.with_name(REPORT)

    @property
    def name(self) -> str:
        return f"drift of {self.current.name} against {self.model} v{self.version}'s reference profile"

    @property
    def inputs(self) -> tuple[str, ...]:
        via = f" ({self.alias})" if self.alias else ""
        return (str(self.current), f"models:/{self.model}/{self.version}{via}, run {self.run_id}: reference_profile.json")

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


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), current: Path | None = None, version: int | None = None,
         alias: str | None = None, chunk_rows: int = 100_000) -> list[Action]:  # fmt: skip
    """One MonitorDrift when a current file is given (the verb passes ``current=`` or ``monitor.current``); none
    otherwise, so ``apply`` never monitors."""
    if current is None:
        return []
    name = spec.registry.name
    alias = alias or (None if version is not None else spec.deploy.alias)
    found = designated_version(ctx.tracking, name, alias, version, MonitoringError)
    output = Path(spec.monitor.report_dir) / VIOLATIONS
    notes = (f"drift: {spec.monitor.default.numeric_method or 'wasserstein'} (numeric), {spec.monitor.default.categorical_method or 'jensenshannon'} "
             f"(categorical); dataset drift at {spec.monitor.drift_share:g} of the features",)  # fmt: skip
    return [MonitorDrift(effect=Effect.check, current=Path(current), output=output, model=name, version=found.version, run_id=found.run_id or "",
                         alias=alias, chunk_rows=chunk_rows, html=output.with_name(REPORT), experiment=monitoring_experiment(spec.project),
                         notes=notes)]  # fmt: skip


def monitor_drift(action: MonitorDrift, ctx: RunContext) -> Result:
    """Check the file; in a monitoring run, write violations.json and report.html and log them. The Result's value
    is a :class:`Monitored` (``breached`` says if any check failed)."""
    from hydraops.monitoring.check import breach_ids, check_file, write_violations
    from hydraops.monitoring.profile import profile_for_version
    from hydraops.monitoring.report_html import write_report
    from hydraops.monitoring.run import log_files, monitoring_run

    profile = profile_for_version(ctx.tracking.client, action.model, action.version)
    report = check_file(profile, action.current, ctx.spec.monitor, chunk_rows=action.chunk_rows)
    about = {"model": action.model, "version": action.version, "run_id": action.run_id, "current": str(action.current)}
    with monitoring_run(ctx, report, about) as run_id:
        write_violations(report, action.output, **about, monitoring_run=run_id)
        when = (ctx.now or datetime.now(UTC)).isoformat(timespec="seconds")
        write_report(report, profile, action.report, **about, monitoring_run=run_id, when=when)
        log_files(ctx, run_id, [action.output, action.report])
    drifted = [r.column for r in report.drift if r.drifted]
    summary = (f"{report.rows:,} rows, {len(report.drift)} columns: {len(drifted)} drifted" + (f" ({', '.join(drifted)})" if drifted else "")
               + f"; {len(report.violations)} violation(s) → {action.output}, {action.report.name}; monitoring run {run_id}")  # fmt: skip
    return Result(action, Outcome.checked, summary, Monitored(report, action.output, action.report, run_id, tuple(breach_ids(report, **about))))


__all__ = ["REPORT", "VIOLATIONS", "MonitorDrift", "Monitored", "monitor_drift", "plan"]
