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


def train(spec: ProjectSpec, cfg: DictConfig, options: Options) -> float | None:
    """One tracked training run (a child of the sweep's parent run under ``-m``); returns the sweep's
    objective (``hparams_search.metric``, default the primary metric on valid) for optimising sweepers."""
    from hydraops.cli.context import job_context
    from hydraops.config.secrets import redact_url
    from hydraops.training.run import train as run

    result = run(spec, job_context(spec, cfg))
    metric = f"test.{spec.evaluate.primary_metric}"
    score = f"{metric} {result.metrics[metric]:.4f}, " if metric in result.metrics else ""
    print(
        f"run {result.run_id}: {score}model {result.registered_model} version {result.version} "
        f"(sha256 {result.model_sha256[:12]})\nsee it: mlflow ui --backend-store-uri {redact_url(spec.stack.tracking_uri)}"
    )
    objective = spec.hparams_search.metric if spec.hparams_search else f"valid.{spec.evaluate.primary_metric}"
    return result.metrics.get(objective)
