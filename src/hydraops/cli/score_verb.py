"""``hydraops score input=PATH output=PATH``: batch scoring by the version a registry alias designates."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.params import Kind, Param, version_param
from hydraops.config.schemas import ProjectSpec
from hydraops.errors import UsageError

SCORE_PARAMS = (
    Param("input", Kind.PATH, "parquet or CSV rows: the model's features, or entity keys and a timestamp (default: deploy.batch.input)"),
    Param("output", Kind.PATH, "the parquet file written: the input's columns and `prediction` (default: deploy.batch.output)"),
    Param("alias", Kind.TEXT, "the registry alias whose version scores (default: deploy.alias)"),
    version_param("score with this version instead of an alias's"),
    Param("timestamp", Kind.TEXT, "the rows' instant column, for features looked up point in time (default: features.labels.timestamp)"),
    Param("chunk_rows", Kind.INT, "rows scored at a time, one row group each (default: deploy.batch.chunk_rows, else 100000)", minimum=1),
    Param("explain", Kind.BOOL, "add each input's contribution (contrib__<feature>, contrib__base); LightGBM models", default=False),
    Param(
        "on_invalid",
        Kind.TEXT,
        "rows breaking a declared check: fail (nothing written) or skip (left out, counted)",
        expected="fail or skip, e.g. on_invalid=skip",
    ),  # fmt: skip
    Param("dry_run", Kind.BOOL, "show the plan and stop; nothing is scored", default=False),
)


def score(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Plan the score stage for the given input and apply it: one line saying what was written."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.config.schemas.lifecycle import OnInvalid

    batch = spec.deploy.batch
    given = options.get("input") or (batch.input if batch is not None else None)
    if not given:
        raise UsageError("score needs input=PATH: a parquet or CSV file of rows to score", key="input", hint="`hydraops score --help` lists its parameters")
    on_invalid = options.get("on_invalid")
    if on_invalid is not None and on_invalid not in {o.value for o in OnInvalid}:
        raise UsageError(f"on_invalid={on_invalid}: expected fail or skip", key="on_invalid")
    output = options.get("output")
    stage = {
        "input": Path(os.path.abspath(given)),
        "output": Path(os.path.abspath(output)) if output else None,
        **{k: options.get(k) for k in ("alias", "version", "timestamp", "chunk_rows", "on_invalid")},
        "explain": options.get("explain", False),
    }
    carry_out(job_context(spec, cfg), ["score"], {"score": stage}, dry_run=options.get("dry_run", False))
