"""``hydraops reproduce RUN_ID [key=value ...]``: train again from a run's recorded overrides and compare.

No CLI re-entry: the recorded overrides (verified against the run's digest, only overrides of the task's
config) are composed with the project's config through Hydra's Compose API (the hydra-node guard and every
check of ``validate`` apply, as for ``train``), then ``training.run.train`` runs with a context that names the
reproduced run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from hydraops.errors import NotReproduced, UsageError

_USAGE = "usage: hydraops reproduce RUN_ID [-cd PATH/conf] [key=VALUE ...] (the MLflow run id to train again)"


def reproduce_verb(args: Sequence[str]) -> int:
    """Train again with the run's overrides (and ``key=VALUE`` given again for redacted secrets), then report
    whether model and metrics match."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import context
    from hydraops.config.compose import composing, load_spec
    from hydraops.config.origins import Origins
    from hydraops.config.validate import validate_config
    from hydraops.errors import ConfigError, Problem
    from hydraops.tracking.handle import Tracking
    from hydraops.training.reproduce import compare, recorded_overrides, redacted_overrides
    from hydraops.training.stage import RUN_OPTIONS, RUN_STAGES

    if not args or args[0].startswith("-") or "=" in args[0]:
        raise UsageError(_USAGE, key="RUN_ID")
    run_id, project_dir, given = args[0], *_project_and_overrides(args[1:])
    tracking = Tracking.of(load_spec(project_dir).stack)
    overrides = recorded_overrides(tracking.client, run_id)  # verified against the run's digest; replayed through train's checks
    missing = redacted_overrides(overrides, given)
    if missing:
        raise ConfigError([
            Problem(o.partition("=")[0], f"run {run_id} config/overrides.json", f"'{o}' was recorded without its secret; "
                    f"give it again: hydraops reproduce {run_id} {o.partition('=')[0]}=VALUE (or read it with ${{oc.env:NAME}})")
            for o in missing
        ])  # fmt: skip
    print(f"reproducing run {run_id}: hydraops train {' '.join(overrides)}")
    replayed = [*_without(overrides, given), *given]
    with composing(project_dir, replayed) as cfg:
        spec = validate_config(cfg, Origins.from_hydra())
        output_dir = Path(spec.paths.root) / "outputs" / "reproduce" / f"{datetime.now():%Y-%m-%d_%H-%M-%S}-{run_id[:12]}"
        ctx = context(spec, cfg, output_dir, replayed, reproduces=run_id)
    carry_out(ctx, RUN_STAGES, RUN_OPTIONS)  # the pinned config, as a plan
    result = compare(ctx.tracking.client, run_id)
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"model: {'bit-identical (same sha256)' if result.model_identical else 'DIFFERENT sha256'}")
    print(f"metrics: {'equal' if result.metrics_equal else 'DIFFERENT'}")
    for key, (old, new) in result.metric_differences.items():
        print(f"  {key}: {old} → {new}")
    if not result.reproduced:
        raise NotReproduced(f"run {result.reproduction} does not reproduce run {run_id}")
    print(f"run {result.reproduction} reproduces run {run_id}")
    return 0


def _project_and_overrides(args: Sequence[str]) -> tuple[Path, list[str]]:
    """The project folder (``-cd PATH/conf``, default the working directory) and the overrides given."""
    project, given, rest = Path("."), [], list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-cd", "--config-dir") and rest:
            project = Path(rest.pop(0)).resolve().parent
        elif arg.startswith("--config-dir="):
            project = Path(arg.split("=", 1)[1]).resolve().parent
        elif "=" in arg and not arg.startswith("-"):
            given.append(arg)
        else:
            raise UsageError(f"reproduce: '{arg}' is not an override; {_USAGE}")
    return project, given


def _without(overrides: Sequence[str], given: Sequence[str]) -> list[str]:
    """The recorded overrides that ``given`` does not set again (a redacted secret given anew replaces it)."""
    keys = {arg.partition("=")[0].lstrip("+~") for arg in given}
    return [o for o in overrides if o.partition("=")[0].lstrip("+~") not in keys]
