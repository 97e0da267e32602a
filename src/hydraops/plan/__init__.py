"""config → Plan (frozen list of Actions) → explain (rich tree, JSON) | apply."""

from hydraops.plan.model import Action, Effect, Plan
from hydraops.plan.planner import build_plan

__all__ = ["Action", "Effect", "Plan", "build_plan"]
