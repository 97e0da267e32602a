"""``hydraops retrain [current=PATH] [dry_run=true]``: monitor → decide → materialize → train → promote, one plan.

The plan is ``[monitor] → retrain → features → train → [registry]`` (see :mod:`hydraops.monitoring.retrain_stage`
for how the decision is planned and taken): ``monitor`` only with ``current=`` (else the latest
``monitor.report_dir/violations.json`` is decided on), ``registry`` only with ``retrain.promote``. A decision
known at plan time to be "no" plans nothing after it. The retrain's config is the project's composed again with
``retrain.overrides`` appended (recorded as the run's overrides, so ``reproduce`` replays them).

Exit status: 0 retrained (and promoted), or nothing to do; 1 the gates rejected the new version (as ``promote``);
2 bad config or usage (no monitoring result to decide on).
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.params import Kind, Param, version_param
from hydraops.config.schemas import ProjectSpec
from hydraops.plan.context import RunContext

RETRAIN_PARAMS = (
    Param("current", Kind.PATH, "monitor this parquet or CSV file first and decide on its result (default: the latest monitor.report_dir/violations.json)"),
    version_param("with current=: judge against this version's reference profile (default: deploy.alias's version)"),
    Param("dry_run", Kind.BOOL, "show the plan and the decision as it stands; nothing is monitored, trained or moved", default=False),
)


def retrain(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Plan and carry out the retrain; print what was decided and why, and what it made."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.output import console
    from hydraops.cli.registry_verbs import raise_if_rejected
    from hydraops.plan.planner import build_plan

    ctx = retrain_context(spec, cfg)
    current = options.get("current")
    dry_run = options.get("dry_run", False)
    head = ["monitor"] if current else []
    stage_options = {
        "monitor": {"current": Path(os.path.abspath(current)), "version": options.get("version")} if current else {},
        "retrain": {"decide": True},
        "train": {"always": True},
    }
    decision = build_plan(ctx.spec, ctx, [*head, "retrain"], stage_options).stage("retrain")[0]  # planning is cheap and changes nothing
    stages = [*head, "retrain"]
    if decision.planned is not False:
        stages += ["features", "train", *(["registry"] if ctx.spec.retrain.promote else [])]
    _, results = carry_out(ctx, stages, stage_options, dry_run=dry_run, show_plan=True)
    out = console()
    if dry_run:
        return
    decided = next(r for r in results if r.action.stage == "retrain").value
    made = [r.value for r in results if r.action.stage == "train" and r.value is not None]
    if not decided.retrain:
        out.print(f"[bold]no retrain[/bold]: {decided.reason}" + "".join(f"\n  {detail}" for detail in decided.details))
    elif made:
        trained = made[0]
        out.print(f"[bold]retrained[/bold]: run {trained.run_id} → {trained.registered_model} version {trained.version}, "
                  f"triggered by {decided.trigger} (breaches {', '.join(decided.breach_ids)})")  # fmt: skip
    raise_if_rejected(results)


def retrain_context(spec: ProjectSpec, cfg: DictConfig) -> RunContext:
    """The job's context, or, with ``retrain.overrides``, the context of the config composed again with them
    appended to the command line's overrides (Hydra's ``.hydra`` copies, of the first composition, left out)."""
    from hydraops.cli.context import context, job_context

    ctx = job_context(spec, cfg)
    extra = list(spec.retrain.overrides)
    if not extra:
        return ctx
    from hydra import compose
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from hydraops.config.compose import CONFIG_NAME
    from hydraops.config.origins import Origins
    from hydraops.config.validate import validate_config

    given = [str(o) for o in OmegaConf.to_container(HydraConfig.get().overrides.task)] if HydraConfig.initialized() else []
    composed = compose(CONFIG_NAME, overrides=[*given, *extra])
    again = validate_config(composed, Origins.from_hydra())
    return context(again, composed, ctx.output_dir, [*given, *extra], parent_run_id=ctx.parent_run_id)


__all__ = ["RETRAIN_PARAMS", "retrain", "retrain_context"]
