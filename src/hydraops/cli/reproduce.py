"""``hydraops reproduce RUN_ID [hydra flags]``: train again from a run's recorded overrides and compare."""

from __future__ import annotations

import os
from collections.abc import Sequence

from hydraops.errors import NotReproduced, UsageError

def reproduce_verb(args: Sequence[str]) -> int:
    """Re-run ``hydraops train`` with the run's overrides, then report whether model and metrics match."""
    from hydraops.cli import VERBS
    from hydraops.config.compose import load_spec
    from hydraops.tracking.runs import connect
    from hydraops.errors import ConfigError, Problem
    from hydraops.training.reproduce import REPRODUCES_ENV, compare, recorded_overrides, redacted_overrides

    if not args or args[0].startswith("-") or "=" in args[0]:
        raise UsageError("usage: hydraops reproduce RUN_ID (the MLflow run id to train again)", key="RUN_ID")
    run_id, flags = args[0], list(args[1:])
    connect(load_spec(".").stack)
    overrides = recorded_overrides(run_id)  # verified against the run's digest; replayed through train's checks
    missing = redacted_overrides(overrides, flags)
    if missing:
        raise ConfigError([
            Problem(o.partition("=")[0], f"run {run_id} config/overrides.json", f"'{o}' was recorded without its secret; "
                    f"give it again: hydraops reproduce {run_id} {o.partition('=')[0]}=VALUE (or read it with ${{oc.env:NAME}})")
            for o in missing
        ])  # fmt: skip
    print(f"reproducing run {run_id}: hydraops train {' '.join(overrides)}")
    os.environ[REPRODUCES_ENV] = run_id
    try:
        code = VERBS["train"][1]([*overrides, *flags])
    finally:
        os.environ.pop(REPRODUCES_ENV, None)
    if code:
        return code
    result = compare(run_id)
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
