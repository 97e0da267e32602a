"""How every acting verb runs: plan its stages → print the plan and stop on ``dry_run=true`` → apply."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hydraops.plan.context import RunContext
from hydraops.plan.model import Effect, Outcome, Plan, Result

_SHOWN = {Outcome.done: "[green]done[/]", Outcome.checked: "[cyan]checked[/]", Outcome.skipped: "[dim]skipped[/]",
          Outcome.rejected: "[red]rejected[/]", Outcome.stopped: "[yellow]stopped[/]"}  # fmt: skip


def carry_out(ctx: RunContext, stages: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None, *,
              dry_run: bool = False, as_json: bool = False, show_plan: bool = False) -> tuple[Plan, list[Result]]:  # fmt: skip
    """Plan ``stages`` with the verb's ``options``; on ``dry_run`` print the plan and apply nothing. Otherwise
    apply it (printing the plan first when ``show_plan``, one line per action as it ends unless ``as_json``).
    With ``as_json`` the plan (and the results) are printed as one JSON document."""
    from rich.markup import escape

    from hydraops.cli.output import console, progress, reporter
    from hydraops.plan import apply, build_plan
    from hydraops.plan.explain import plan_summary, plan_tree

    plan = build_plan(ctx.spec, ctx, stages, options)
    out = console()
    if dry_run or show_plan:
        if not as_json:
            out.print(plan_tree(plan))
            out.print(f"[bold]{plan_summary(plan) or 'nothing to do'}[/bold]" + (": dry run, nothing changed" if dry_run else ""))
    if dry_run:
        if as_json:
            print(json.dumps(plan.to_dict(), indent=2))
        return plan, []

    work = [action for action in plan.actions if action.effect is not Effect.skip]
    with progress(out) as bar:  # on a terminal: which action runs, how many are done
        task = bar.add_task(escape(work[0].name) if work else "", total=len(work), visible=bool(work) and not as_json)

        def shown(result: Result) -> None:
            if result.action.effect is Effect.skip:
                return
            bar.advance(task)
            done = int(bar.tasks[0].completed)
            bar.update(task, description=escape(work[done].name) if done < len(work) else "")
            if not as_json:
                out.print(f"{_SHOWN[result.outcome]} {escape(result.action.name)}" + (f": {escape(result.summary)}" if result.summary else ""))

        results = apply(plan, replace(ctx, report=reporter(bar)), on_result=shown)
    if as_json:
        print(json.dumps({**plan.to_dict(), "results": [result.to_dict() for result in results]}, indent=2))
    return plan, results
