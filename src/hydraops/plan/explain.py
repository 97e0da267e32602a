"""Render a Plan for people (a rich tree) or machines (JSON)."""

from __future__ import annotations

import json

from hydraops.plan.model import Effect, Plan

_STYLE = {Effect.create: "green", Effect.update: "yellow", Effect.check: "cyan", Effect.skip: "dim"}
_SIGN = {Effect.create: "+", Effect.update: "~", Effect.check: "?", Effect.skip: "="}


def plan_tree(plan: Plan):  # -> rich.tree.Tree (rich is imported here, not at module load)
    """The plan as a rich Tree: stage → action → inputs, outputs and details."""
    from rich.tree import Tree

    root = Tree(f"[bold]plan[/bold] for project [bold]{plan.project}[/bold]")
    for stage in plan.stages:
        branch = root.add(f"[bold]{stage}[/bold]")
        for action in plan.stage(stage):
            style = _STYLE[action.effect]
            node = branch.add(f"[{style}]{_SIGN[action.effect]} {action.effect.value}[/{style}] {action.name}")
            for label, values in (("in", action.inputs), ("out", action.outputs)):
                for value in values:
                    node.add(f"[dim]{label}:[/dim] {value}")
            for detail in action.details:
                node.add(f"[dim]{detail}[/dim]")
    return root


def plan_json(plan: Plan) -> str:
    """The plan as indented JSON."""
    return json.dumps(plan.to_dict(), indent=2)


def plan_summary(plan: Plan) -> str:
    """One line: how many actions of each effect."""
    counts = {effect: sum(a.effect is effect for a in plan.actions) for effect in Effect}
    return ", ".join(f"{count} to {effect.value}" for effect, count in counts.items() if count)
