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
    from hydraops.plan import RunContext, build_plan
    from hydraops.plan.explain import plan_json, plan_summary, plan_tree

    the_plan = build_plan(spec, RunContext.create(spec, cfg))
    if options.get("json"):
        print(plan_json(the_plan))
        return
    
    out = console()
    out.print(plan_tree(the_plan))
    out.print(f"[bold]{plan_summary(the_plan) or 'nothing to do'}[/bold]")


def train(spec: ProjectSpec, cfg: DictConfig, options: Options) -> float | None:
    """One tracked training run (a child of the sweep's parent run under ``-m``); returns the sweep's
    objective (``hparams_search.metric``, default the primary metric on valid) for optimising sweepers."""
    import os
    from pathlib import Path

    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from hydraops.config.secrets import Redactor, redact_url
    from hydraops.training.run import train as run

    hydra = HydraConfig.get()
    output_dir = Path(hydra.runtime.output_dir)
    redactor = Redactor.of(cfg, {name: os.environ[name] for name in hydra.job.env_copy if name in os.environ})
    overrides = redactor.command(str(o) for o in OmegaConf.to_container(hydra.overrides.task, resolve=False))
    hydra_dir = output_dir / hydra.output_subdir if hydra.output_subdir else None
    result = run(spec, redactor.config(cfg), output_dir=output_dir, overrides=overrides, hydra_dir=hydra_dir,
                 parent_run_id=os.environ.get("HYDRAOPS_PARENT_RUN_ID"), redactor=redactor)  # fmt: skip
    metric = f"test.{spec.evaluate.primary_metric}"
    score = f"{metric} {result.metrics[metric]:.4f}, " if metric in result.metrics else ""
    print(
        f"run {result.run_id}: {score}model {result.registered_model} version {result.version} "
        f"(sha256 {result.model_sha256[:12]})\nsee it: mlflow ui --backend-store-uri {redact_url(spec.stack.tracking_uri)}"
    )
    objective = spec.hparams_search.metric if spec.hparams_search else f"valid.{spec.evaluate.primary_metric}"
    return result.metrics.get(objective)
