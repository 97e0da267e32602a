"""The lifecycle from Python, without Hydra's command line: each function plans its stages and applies them.

    import hydraops
    ctx = hydraops.RunContext.create(hydraops.load_spec("projects/churn"))
    hydraops.materialize(ctx)            # the feature views into the offline and online stores
    run = hydraops.train(ctx)            # a TrainResult: run id, version, metrics
    hydraops.promote(ctx)                # the registry's gates, then the alias moves

or, step by step: ``plan = hydraops.build_plan(ctx.spec, ctx)``, look at ``plan.actions``, ``hydraops.apply(plan, ctx)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hydraops.plan import Plan, Result, RunContext, apply, build_plan


def run_stages(ctx: RunContext, stages: list[str] | None = None, **options: Any) -> tuple[Plan, list[Result]]:
    """Plan ``stages`` (every stage by default: what ``hydraops apply`` does), apply the plan; ``options`` are
    per stage: ``run_stages(ctx, ["features"], features={"force": True})``."""
    plan = build_plan(ctx.spec, ctx, stages, options)
    return plan, apply(plan, ctx)


def materialize(ctx: RunContext, *, start: datetime | None = None, end: datetime | None = None, force: bool = False) -> list[Result]:
    """``hydraops features materialize``: one Result per view (and the online push)."""
    return run_stages(ctx, ["features"], features={"start": start, "end": end, "force": force})[1]


def train(ctx: RunContext) -> Any:
    """``hydraops train``: the views it needs made current, then one run; its TrainResult."""
    from hydraops.training.stage import RUN_OPTIONS, RUN_STAGES, TrainRun

    _, results = run_stages(ctx, list(RUN_STAGES), **RUN_OPTIONS)
    return next(result.value for result in results if isinstance(result.action, TrainRun))


def promote(ctx: RunContext, *, version: int | None = None, approve: bool = False) -> Result:
    """``hydraops promote``: the candidate through the gates; the Result says done, skipped or rejected."""
    _, results = run_stages(ctx, ["registry"], registry={"version": version, "approve": approve, "required": True})
    return results[0]


__all__ = ["materialize", "promote", "run_stages", "train"]
