"""What each Hydra verb does once the config is composed and validated."""

from __future__ import annotations

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.output import console

from hydraops.config.schemas import ProjectSpec


def validate(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Print a one-line summary of the valid config (problems never get this far)."""
    features = spec.features
    print(
        f"ok: project '{spec.project}' is valid — model {spec.model.name} ({spec.model.task.value}), "
        f"{len(spec.data.sources)} sources, {len(features.views)} feature views, "
        f"{len(features.feature_names())} features, stack {spec.stack.name}"
    )


def plan(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Print the plan as a rich tree, or as JSON with --json."""
    from hydraops.plan import build_plan
    from hydraops.plan.explain import plan_json, plan_summary, plan_tree

    the_plan = build_plan(spec)
    if options.get("json"):
        print(plan_json(the_plan))
        return
    
    out = console()
    out.print(plan_tree(the_plan))
    out.print(f"[bold]{plan_summary(the_plan) or 'nothing to do'}[/bold]")
