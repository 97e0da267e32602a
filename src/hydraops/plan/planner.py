"""spec → Plan: each stage's planner over the typed spec, in lifecycle order.

A stage joins :data:`STAGES` when its engine lands, so ``plan`` never shows what nothing can apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hydraops.config.schemas import ProjectSpec
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Plan

#: (spec, ctx, *, earlier, **options) -> actions: reads the world, changes nothing. ``earlier`` are the actions
#: planned before (a promotion after a training run in the same plan promotes the version it registers).
StagePlanner = Callable[..., list[Action]]


def stages() -> dict[str, StagePlanner]:
    """Stage name → planner, in lifecycle order."""
    from hydraops.features import data_stage as data
    from hydraops.features import stage as features
    from hydraops.monitoring import retrain_stage as retrain
    from hydraops.monitoring import stage as monitor
    from hydraops.registry import stage as registry
    from hydraops.serving import score_stage as score
    from hydraops.serving import stage as serving
    from hydraops.training import stage as training

    return {"data": data.plan_data, "features": features.plan_features, "train": training.plan, "registry": registry.plan,
            "serving": serving.plan, "score": score.plan, "monitor": monitor.plan,
            "retrain": retrain.plan}  # fmt: skip


def build_plan(spec: ProjectSpec, ctx: RunContext, names: Sequence[str] | None = None,
               options: Mapping[str, Mapping[str, Any]] | None = None) -> Plan:  # fmt: skip
    """The Plan for the given stages (every stage by default); ``options[stage]`` are that planner's keyword
    arguments (a verb's parameters: ``{"features": {"start": ..., "force": True}}``)."""
    table = stages()
    names = list(table) if names is None else list(names)
    unknown = [name for name in names if name not in table]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; known: {list(table)}")
    options = options or {}
    actions: list[Action] = []
    for name in names:
        actions += table[name](spec, ctx, earlier=tuple(actions), **options.get(name, {}))
    return Plan(spec.project, tuple(actions))
