"""The one executor: ``apply(plan, ctx)`` carries out a plan's actions in order, each by its handler.

The table from action type to handler is :func:`handlers`, written out in full: a new stage adds its
actions there. An action planned as ``skip`` is not handed to anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Plan, Result

Handler = Callable[[Any, RunContext], Result]


def handlers() -> Mapping[type[Action], Handler]:
    """Action type → the function that carries it out (stages are imported here, when a plan is applied)."""
    from hydraops.features import data_stage as data
    from hydraops.features import stage as features
    from hydraops.monitoring import stage as monitor
    from hydraops.registry import stage as registry
    from hydraops.serving import score_stage as score
    from hydraops.serving import stage as serving
    from hydraops.training import stage as training

    return {
        data.CheckSource: data.check_source,
        features.MaterializeView: features.materialize_view,
        features.PushOnline: features.push_online,
        training.TrainRun: training.train_run,
        registry.Promote: registry.promote,
        registry.Rollback: registry.rollback,
        serving.BuildBundle: serving.build_bundle,
        score.ScoreBatch: score.score_batch,
        monitor.MonitorDrift: monitor.monitor_drift,
    }


def apply(plan: Plan, ctx: RunContext, *, on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Carry out every action of ``plan`` in order; the results, one per action. A rejected gate stops the
    actions after it (what follows a promotion assumes it happened)."""
    table = handlers()
    results = []
    for action in plan.actions:
        if action.effect is Effect.skip:
            result = Result(action, Outcome.skipped, "up to date")
        else:
            handler = table.get(type(action))
            if handler is None:
                raise TypeError(f"no handler for {type(action).__name__}: add it to hydraops.plan.executor.handlers")
            result = handler(action, ctx)
        results.append(result)
        if on_result is not None:
            on_result(result)
        if result.outcome is Outcome.rejected:
            break
    return results


def exit_status(results: list[Result]) -> int:
    """0 when everything was done, checked or skipped; 1 when a gate rejected."""
    return 1 if any(result.outcome is Outcome.rejected for result in results) else 0


__all__ = ["Handler", "apply", "exit_status", "handlers"]
