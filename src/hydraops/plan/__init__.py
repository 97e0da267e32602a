"""spec → Plan (typed Actions) → explain (rich tree, JSON) | apply (one executor) → Results."""

from hydraops.plan.context import RunContext
from hydraops.plan.executor import apply
from hydraops.plan.model import Action, Effect, Outcome, Plan, Result
from hydraops.plan.planner import build_plan

__all__ = ["Action", "Effect", "Outcome", "Plan", "Result", "RunContext", "apply", "build_plan"]
