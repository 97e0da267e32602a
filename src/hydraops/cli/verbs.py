"""What the lifecycle verbs do once the config is composed and validated: validate, plan, apply, train."""

from __future__ import annotations

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.output import console
from hydraops.config.schemas import ProjectSpec


def validate(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Print a one-line summary of the valid config (problems never get this far). With ``check_data=true``
    the sources' schemas are checked first (no data row is read): every problem listed, exit 2."""
    features = spec.features
    if options.get("check_data"):
        from hydraops.config.origins import Origins
        from hydraops.features.checks import check_sources, listed
        from hydraops.features.repo import FeatureRepo

        problems = check_sources(FeatureRepo.from_spec(spec))
        if problems:
            raise listed(problems, Origins.from_hydra().of)
    print(
        f"ok: project '{spec.project}' is valid — model {spec.model.name} ({spec.model.task.value}), "
        f"{len(spec.data.sources)} sources, {len(features.views)} feature views, "
        f"{len(features.feature_names())} features, stack {spec.stack.name}"
        + (f"; the data matches it: {len(spec.data.sources)} sources' schemas checked, no row read" if options.get("check_data") else "")
    )


def plan(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """What ``hydraops apply`` would do, as a rich tree, or as JSON with --json."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context

    carry_out(job_context(spec, cfg), _lifecycle(), dry_run=True, as_json=bool(options.get("json")))


def apply(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Every declared stage in lifecycle order; a second run on unchanged inputs only checks and skips."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.cli.registry_verbs import raise_if_rejected
    from hydraops.plan.model import Outcome

    as_json = bool(options.get("json"))
    _, results = carry_out(job_context(spec, cfg), _lifecycle(), dry_run=options.get("dry_run", False), as_json=as_json, show_plan=True)
    if results and not as_json:
        changed = [r for r in results if r.outcome in (Outcome.done, Outcome.rejected)]
        console().print(f"[bold]{len(changed)} action(s) applied[/bold]" if changed else "[bold]nothing changed: everything is up to date[/bold]")
    raise_if_rejected(results)


def train(spec: ProjectSpec, cfg: DictConfig, options: Options) -> float | None:
    """One tracked training run (a child of the sweep's parent run under ``-m``), after the feature views it
    needs are current; returns the sweep's objective (``hparams_search.metric``, default the primary metric on
    valid) for optimising sweepers."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.cli.metrics_table import metrics_table
    from hydraops.config.secrets import redact_url
    from hydraops.training.stage import RUN_OPTIONS, RUN_STAGES, TrainRun

    ctx = job_context(spec, cfg)
    if not options.get("dry_run"):
        ctx.tracking.check()  # an unreachable store fails in seconds, before any feature is computed
    _, results = carry_out(ctx, RUN_STAGES, RUN_OPTIONS, dry_run=options.get("dry_run", False))
    trained = [r.value for r in results if isinstance(r.action, TrainRun)]
    if not trained:
        return None
    result = trained[0]
    metric = f"test.{spec.evaluate.primary_metric}"
    score = f"{metric} {result.metrics[metric]:.4f}, " if metric in result.metrics else ""
    print(
        f"run {result.run_id}: {score}model {result.registered_model} version {result.version} "
        f"(sha256 {result.model_sha256[:12]})\nsee it: mlflow ui --backend-store-uri {redact_url(spec.stack.tracking_uri)}"
    )
    console().print(metrics_table(result.metrics, spec.evaluate.metrics, spec.evaluate.primary_metric))
    objective = spec.hparams_search.metric if spec.hparams_search else f"valid.{spec.evaluate.primary_metric}"
    return result.metrics.get(objective)


def _lifecycle() -> list[str]:
    """Every stage whose engine exists, in lifecycle order."""
    from hydraops.plan.planner import stages

    return list(stages())
