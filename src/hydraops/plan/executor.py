"""The one executor: ``apply(plan, ctx)`` carries out a plan's actions in order, each by its handler.

The table from action type to handler is :data:`HANDLERS`, written out in full: a new stage adds its
actions there; only the handlers of the actions a plan holds are imported. An action planned as ``skip`` is not handed to anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Plan, Result

Handler = Callable[[Any, RunContext], Result]


# Action type (module.qualname) → "module:function" carrying it out. Only the handler of an action a plan holds
# is imported, when the plan is applied (a features-only plan imports no training, registry or serving code).
HANDLERS: Mapping[str, str] = {
    "hydraops.features.data_stage.CheckSource": "hydraops.features.data_stage:check_source",
    "hydraops.features.stage.MaterializeView": "hydraops.features.stage:materialize_view",
    "hydraops.features.stage.PushOnline": "hydraops.features.stage:push_online",
    "hydraops.training.stage.TrainRun": "hydraops.training.stage:train_run",
    "hydraops.registry.stage.Promote": "hydraops.registry.stage:promote",
    "hydraops.registry.stage.Rollback": "hydraops.registry.stage:rollback",
    "hydraops.serving.stage.BuildBundle": "hydraops.serving.stage:build_bundle",
    "hydraops.serving.score_stage.ScoreBatch": "hydraops.serving.score_stage:score_batch",
    "hydraops.monitoring.stage.MonitorDrift": "hydraops.monitoring.stage:monitor_drift",
    "hydraops.monitoring.retrain_stage.DecideRetrain": "hydraops.monitoring.retrain_stage:decide_retrain",
}


#: Actions of one concurrent batch applied at once, at most.
_WORKERS = 4


def handler(action_type: type[Action]) -> Handler | None:
    """The function that carries out ``action_type`` (its module imported now), or None when it has none."""
    target = HANDLERS.get(f"{action_type.__module__}.{action_type.__qualname__}")
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def handlers() -> Mapping[type[Action], Handler]:
    """Action type → the function that carries it out, every stage imported (for tools listing them all)."""
    table = {}
    for key in HANDLERS:
        module, _, name = key.rpartition(".")
        action_type = getattr(importlib.import_module(module), name)
        table[action_type] = handler(action_type)
    return table


def apply(plan: Plan, ctx: RunContext, *, on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Carry out every action of ``plan`` in order; the results, one per action. A rejected gate stops the
    actions after it (what follows a promotion assumes it happened), and so does a ``stopped`` decision (what
    follows is not needed). A result's ``tags`` join ``ctx.tags`` for the actions after it. Consecutive
    actions of a ``concurrent`` type run at once (their results still come in plan order; the first error
    among them is raised once all are done)."""
    found: dict[type[Action], Handler | None] = {}
    results: list[Result] = []
    actions = list(plan.actions)
    while actions:
        batch = _batch(actions)
        del actions[: len(batch)]
        for result in _carry_out(batch, ctx, found):
            results.append(result)
            if on_result is not None:
                on_result(result)
            if result.outcome in (Outcome.rejected, Outcome.stopped):
                return results
            if result.tags:
                ctx = replace(ctx, tags={**ctx.tags, **result.tags})
    return results


def _batch(actions: list[Action]) -> list[Action]:
    """The first action, with the actions of its type right after it when that type is ``concurrent``."""
    kind = type(actions[0])
    if not kind.concurrent:
        return actions[:1]
    end = next((i for i, action in enumerate(actions) if type(action) is not kind), len(actions))
    return actions[:end]


def _carry_out(batch: list[Action], ctx: RunContext, found: dict) -> Iterator[Result]:
    """The results of ``batch``, in order: its actions carried out one by one, or at once on threads."""

    def run(action: Action) -> Result:
        if action.effect is Effect.skip:
            return Result(action, Outcome.skipped, "up to date")
        kind = type(action)
        if kind not in found:
            found[kind] = handler(kind)
        if found[kind] is None:
            raise TypeError(f"no handler for {kind.__name__}: add it to hydraops.plan.executor.HANDLERS")
        return found[kind](action, ctx)

    working = [action for action in batch if action.effect is not Effect.skip]
    if len(working) < 2:
        for action in batch:
            yield run(action)
        return
    if type(working[0]) not in found:  # imported once, before the threads
        found[type(working[0])] = handler(type(working[0]))
    with ThreadPoolExecutor(max_workers=min(len(working), _WORKERS), thread_name_prefix="hydraops-apply") as pool:
        futures = [pool.submit(run, action) for action in batch]
        wait(futures)
    for future in futures:
        yield future.result()  # the first error, in plan order, once every action is done


def exit_status(results: list[Result]) -> int:
    """0 when everything was done, checked or skipped; 1 when a gate rejected."""
    return 1 if any(result.outcome is Outcome.rejected for result in results) else 0


__all__ = ["HANDLERS", "Handler", "apply", "exit_status", "handler", "handlers"]
