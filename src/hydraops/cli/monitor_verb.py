"""``hydraops monitor current=PATH | window=7d [start=..] [end=..] [version=N]``: current data (a file, or the
prediction log over a window) against a model version's reference profile; exit 3 on a breach."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.params import Kind, Param
from hydraops.config.schemas import ProjectSpec

#: The prediction log's PostgreSQL URL with credentials (or its directory) on this machine, as the service reads it.
LOG_URL_ENV = "HYDRAOPS_PREDICTION_LOG_URL"

MONITOR_PARAMS = (
    Param("current", Kind.PATH, "parquet or CSV rows to judge: the model's features, and `prediction` if scored (default: monitor.current)"),
    Param(
        "window",
        Kind.TEXT,
        "judge the prediction log over this duration, e.g. 7d, ending at end= (default: monitor.window)",
        expected="a duration, e.g. window=7d",
    ),
    Param("start", Kind.MOMENT, "judge the prediction log from this time (with end= or window=)"),
    Param("end", Kind.MOMENT, "the end of the prediction log's window, excluded (default: now)"),
    Param(
        "version",
        Kind.INT,
        "judge against this version's reference profile (default: deploy.alias's version)",
        expected="a version number, e.g. version=3",
        minimum=1,
    ),
    Param("alias", Kind.TEXT, "judge against the version this registry alias designates (default: deploy.alias)"),
    Param("chunk_rows", Kind.INT, "rows read at a time", minimum=1),
    Param("dry_run", Kind.BOOL, "show the plan and stop; nothing is read or written", default=False),
)


def monitor(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Plan the monitor stage and apply it: each drifted column, then violations.json; MonitoringBreach (exit 3) on a breach."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.cli.output import console
    from hydraops.errors import MonitoringBreach
    from hydraops.monitoring.check import MonitorReport

    stage = {**_current(spec, options), **{k: options.get(k) for k in ("version", "alias")}, "chunk_rows": options.get("chunk_rows") or 100_000}
    _, results = carry_out(job_context(spec, cfg), ["monitor"], {"monitor": stage}, dry_run=options.get("dry_run", False))
    reports = [r.value for r in results if isinstance(r.value, MonitorReport)]
    out = console()
    for report in reports:
        for result in report.drift:
            mark = "[red]drift[/]" if result.drifted else "[green]ok[/]"
            out.print(
                f"  {mark} {result.column}: {result.method.value} {result.statistic:.4g} (threshold {result.threshold:g}, {report.sources[result.column]})"
            )
        for rate in report.statuses:
            out.print(f"  status {rate.feature}: missing {rate.missing:.1%}, expired {rate.expired:.1%} of {rate.rows:,} served rows")
        for chunk in report.chunks:
            drifted = [r.column for r in chunk.drift if r.drifted]
            state = (
                "[dim]not judged[/] (fewer than monitor.min_rows)" if not chunk.judged else f"[red]drift[/] {', '.join(drifted)}" if drifted else "[green]ok[/]"
            )
            out.print(f"  chunk {chunk.label}: {chunk.rows:,} rows, {state}")
    breached = [v for report in reports for v in report.violations]
    if breached:
        kinds = sorted({v.check for v in breached})
        raise MonitoringBreach(f"{len(breached)} monitoring check(s) breached ({', '.join(kinds)}): see {results[0].action.output}")


def _current(spec: ProjectSpec, options: Options) -> dict:
    """The stage's current data: ``current`` (a file), else the prediction log's window ``[start, end)`` from
    ``window``/``start``/``end`` (``end`` defaults to now), with the log's URL from the machine (LOG_URL_ENV)."""
    from datetime import UTC, datetime

    from hydraops.config.durations import parse_duration
    from hydraops.errors import UsageError

    hint = "`hydraops monitor --help` lists its parameters"
    window, start, end = options.get("window"), options.get("start"), options.get("end")
    given = options.get("current") or (None if window or start else spec.monitor.current)
    window = window or (None if given or start else spec.monitor.window)
    if given and (window or start or end):
        raise UsageError("monitor judges a file (current=) or the prediction log (window=, start=, end=), not both", key="current", hint=hint)
    if given:
        return {"current": Path(os.path.abspath(given))}
    if not window and not start:
        raise UsageError("monitor needs current=PATH (a parquet or CSV file of rows to judge) or window=7d (the prediction log over that window)",
                         key="current", hint=hint)  # fmt: skip
    try:
        length = parse_duration(window) if window else None
    except ValueError as error:
        raise UsageError(f"window={window}: {error}", key="window", hint=hint) from None
    if length is not None and start and end:
        raise UsageError("give two of window=, start=, end=: the third follows", key="window", hint=hint)
    if start is not None and length is not None:
        end = start + length
    end = end or datetime.now(UTC)
    start = start or end - length
    if not start < end:
        raise UsageError(f"the window [{start.isoformat()}, {end.isoformat()}) is empty: start must be before end", key="start", hint=hint)
    return {"start": start, "end": end, "log_url": os.environ.get(LOG_URL_ENV) or None}
