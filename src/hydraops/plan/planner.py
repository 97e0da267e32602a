"""config → Plan: run each stage planner over the typed spec, in lifecycle order."""

from __future__ import annotations

from collections.abc import Sequence

from hydraops.config.schemas import ProjectSpec
from hydraops.plan.model import Plan
from hydraops.plan.stages import STAGES


def build_plan(spec: ProjectSpec, stages: Sequence[str] | None = None) -> Plan:
    """The Plan for the given stages (all known stages by default)."""
    names = list(STAGES) if stages is None else list(stages)
    unknown = [name for name in names if name not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; known: {list(STAGES)}")
    actions = tuple(action for name in names for action in STAGES[name](spec))
    return Plan(project=spec.project, actions=actions)
