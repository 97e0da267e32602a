"""The retrain stage: one DecideRetrain action, the gate between a monitoring result and a new model.

``hydraops retrain`` plans ``[monitor] → retrain → features → train → [registry]`` as one plan. Planning stays
free of side effects: without a monitor action before it, the planner reads the latest violations.json and the
earlier retrains now and shows the decision (a "no" plans nothing after it); after a monitor action, the
decision waits for the monitor's result. At apply the handler decides again (on the file as it is then, by
:mod:`hydraops.monitoring.retrain_policy`): ``stopped`` ends the plan there (exit 0), a retrain passes the
trigger on as the Result's ``tags`` (``TRIGGERED_BY``, ``BREACH_IDS``), which the executor hands to the
training run, its model version and the registry decision after it. The stage plans nothing unless asked, so
``hydraops apply`` never retrains.

Earlier retrains are the FINISHED runs of experiment ``<project>`` tagged ``TRIGGERED_BY`` (their start times
for the cooldown, their ``BREACH_IDS`` for idempotence): a retrain that failed does not count.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from hydraops.errors import MonitoringError, UsageError
from hydraops.monitoring.retrain_policy import Decision, PastRetrain, decide, monitoring_result
from hydraops.monitoring.stage import VIOLATIONS, MonitorDrift
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Result
from hydraops.tracking import tags as T


@dataclass(frozen=True, kw_only=True)
class DecideRetrain(Action):
    """Decide on ``report`` (violations.json) whether to retrain; ``planned`` is the decision as planned (None:
    taken at apply, on the result of the monitor action before it)."""

    stage: ClassVar[str] = "retrain"
    report: Path
    experiment: str
    trigger: str
    planned: bool | None = None

    @property
    def name(self) -> str:
        return f"decide whether to retrain on {self.report.name} ({self.trigger})"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (str(self.report), f"earlier retrains: runs of MLflow experiment {self.experiment} tagged {T.TRIGGERED_BY}")


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), decide: bool = False) -> list[Action]:
    """One DecideRetrain when the retrain verb asks (``decide``); none otherwise. Without a monitor action
    before it, violations.json must exist (UsageError naming monitor.report_dir)."""
    if not decide:
        return []
    report = Path(spec.monitor.report_dir) / VIOLATIONS
    settings = _settings(spec)
    if any(isinstance(action, MonitorDrift) for action in earlier):
        manual = str(spec.retrain.trigger) == "manual"
        notes = ("retrain.trigger is manual: only reporting" if manual else "decided at apply, on the monitor's result", settings)
        return [DecideRetrain(effect=Effect.check, report=report, experiment=spec.project, trigger="the monitoring run above",
                              planned=False if manual else None, notes=notes)]  # fmt: skip
    if not report.is_file():
        raise UsageError(
            f"no monitoring result to decide on: {report} does not exist (monitor.report_dir={spec.monitor.report_dir})",
            key="monitor.report_dir",
            hint="run `hydraops monitor current=PATH` first, or `hydraops retrain current=PATH` to monitor and decide in one go",
        )
    decision = evaluate(spec, ctx, report)
    verdict = ("would retrain: " if decision.retrain else "no retrain: ") + decision.reason
    ids = (f"breach ids: {', '.join(decision.breach_ids)}",) if decision.breach_ids else ()
    return [DecideRetrain(effect=Effect.check, report=report, experiment=spec.project, trigger=decision.trigger, planned=decision.retrain,
                          notes=(verdict, *decision.details, *ids, settings))]  # fmt: skip


def decide_retrain(action: DecideRetrain, ctx: RunContext) -> Result:
    """Decide on the report as it is now: ``checked`` with the trigger as tags, or ``stopped`` (nothing after it
    runs). The Result's value is the policy's Decision."""
    decision = evaluate(ctx.spec, ctx, action.report)
    if not decision.retrain:
        return Result(action, Outcome.stopped, f"no retrain: {decision.reason}", decision)
    summary = f"retrain: {decision.reason} (triggered by {decision.trigger})"
    return Result(action, Outcome.checked, summary, decision, tags=decision.tags)


def evaluate(spec, ctx: RunContext, report: Path) -> Decision:
    """The policy's decision on ``report`` against ``spec.retrain``, the earlier retrains and ``ctx.now`` (default: now)."""
    try:
        data = report.read_bytes()
        result = monitoring_result(json.loads(data), source=str(report), digest=hashlib.sha256(data).hexdigest())
    except FileNotFoundError as error:
        raise MonitoringError(f"{report}: no such file (monitor.report_dir)", key="monitor.report_dir", path=str(report)) from error
    except ValueError as error:  # JSON or format
        raise MonitoringError(f"{report}: not a monitoring result: {error}", key="monitor.report_dir", path=str(report)) from error
    return decide(result, spec.retrain, past_retrains(ctx, spec.project), ctx.now or datetime.now(UTC))


def past_retrains(ctx: RunContext, experiment: str) -> list[PastRetrain]:
    """The finished training runs of ``experiment`` a retrain started (newest first)."""
    if ctx.tracking.missing_store() is not None:
        return []
    reader = ctx.tracking.reader()
    found = reader.experiment_id(experiment)
    if found is None:
        return []
    past = []
    for run in reader.runs(found, status="FINISHED", max_results=10_000):
        if T.TRIGGERED_BY not in run.tags:
            continue
        started = datetime.fromtimestamp((run.start_time or 0) / 1000, UTC)
        ids = frozenset(i for i in run.tags.get(T.BREACH_IDS, "").split(",") if i)
        past.append(PastRetrain(run.run_id, started, run.tags[T.TRIGGERED_BY], ids))
    return past


def _settings(spec) -> str:
    retrain = spec.retrain
    kinds = ", ".join(str(kind) for kind in retrain.when) or "none"
    return (f"retrain: trigger {retrain.trigger}, when: {kinds}; cooldown {retrain.cooldown_hours:g} h, "
            f"hysteresis {retrain.hysteresis.breached} of {retrain.hysteresis.of} chunks, promote {str(retrain.promote).lower()}")  # fmt: skip


__all__ = ["DecideRetrain", "decide_retrain", "evaluate", "past_retrains", "plan"]
