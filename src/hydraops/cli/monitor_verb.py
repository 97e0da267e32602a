"""``hydraops monitor current=PATH | window=7d [start=..] [end=..] [version=N]``: current data (a file, or the
prediction log over a window) against a model version's reference profile; violations.json, report.html and a
monitoring run; a summary table; exit 3 on a breach."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.params import Kind, Param, version_param
from hydraops.config.schemas import ProjectSpec

if TYPE_CHECKING:
    from rich.console import Console

    from hydraops.monitoring.stage import Monitored


#: The prediction log's location on this machine (a PostgreSQL URL with credentials, or a parquet directory),
#: replacing ``stack.prediction_log``'s, as the service reads it: the verbs that read the log (monitor, lineage) too.
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
    version_param("judge against this version's reference profile (default: deploy.alias's version)"),
    Param("alias", Kind.TEXT, "judge against the version this registry alias designates (default: deploy.alias)"),
    Param("chunk_rows", Kind.INT, "rows read at a time", minimum=1),
    Param("reference", Kind.PATH, "judge against this reference instead of the version's: a reference_profile.json, or parquet/CSV rows to profile"),
    Param(
        "labels",
        Kind.PATH,
        "labels that arrived (parquet or CSV: the declared labels' keys, timestamp, target): judge the logged predictions' metric per chunk",
    ),
    Param("performance", Kind.BOOL, "judge the logged predictions' metric per chunk on the declared labels source's files", default=False),
    Param("dry_run", Kind.BOOL, "show the plan and stop; nothing is read or written", default=False),
)


def monitor(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Plan the monitor stage and apply it, then show its outcome (:func:`show_outcome`); MonitoringBreach (exit 3) on a breach."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.cli.output import console
    from hydraops.errors import MonitoringBreach
    from hydraops.monitoring.stage import Monitored

    stage = {
        **_current(spec, options),
        **{k: options.get(k) for k in ("version", "alias")},
        "chunk_rows": options.get("chunk_rows") or 100_000,
        "labels": Path(os.path.abspath(options["labels"])) if options.get("labels") else None,
        "performance": options.get("performance", False),
        "reference": Path(os.path.abspath(options["reference"])) if options.get("reference") else None,
    }
    _, results = carry_out(job_context(spec, cfg), ["monitor"], {"monitor": stage}, dry_run=options.get("dry_run", False))
    outcomes = [r.value for r in results if isinstance(r.value, Monitored)]
    out = console()
    for outcome in outcomes:
        show_outcome(out, outcome)
    breached = [v for outcome in outcomes for v in outcome.report.violations]
    if breached:
        kinds = sorted({v.check for v in breached})
        raise MonitoringBreach(f"{len(breached)} monitoring check(s) breached ({', '.join(kinds)}): see {outcomes[0].html}")


def show_outcome(out: Console, outcome: Monitored) -> None:
    """Every column's drift as a table, a line per kind of violation, then where the report, violations.json
    and the monitoring run are."""
    from rich.markup import escape
    from rich.table import Table

    from hydraops.monitoring.quality import CHECKS as QUALITY_CHECKS

    report = outcome.report
    table = Table(title=f"drift: {report.rows:,} rows", title_justify="left")
    for name, justify in (("column", "left"), ("method", "left"), ("statistic", "right"), ("threshold", "right"), ("source", "left"), ("verdict", "left")):
        table.add_column(name, justify=justify)
    for r in report.drift:
        verdict = "[red]drift[/]" if r.drifted else "[green]ok[/]"
        table.add_row(escape(r.column), r.method.value, f"{r.statistic:.4g}", f"{r.threshold:g}", escape(report.sources.get(r.column, "")), verdict)
    out.print(table)
    dataset = report.dataset
    out.print(f"dataset drift: {len(dataset.drifted_columns)} of {dataset.columns} features ({dataset.share:.0%}, threshold {dataset.threshold:.0%})")
    for rate in report.statuses:
        out.print(f"status {escape(rate.feature)}: missing {rate.missing:.1%}, expired {rate.expired:.1%} of {rate.rows:,} served rows")
    for chunk in report.chunks:
        drifted = [r.column for r in chunk.drift if r.drifted]
        state = (
            "[dim]not judged[/] (fewer than monitor.min_rows)"
            if not chunk.judged
            else f"[red]drift[/] {escape(', '.join(drifted))}"
            if drifted
            else "[green]ok[/]"
        )
        out.print(f"chunk {chunk.label}: {chunk.rows:,} rows, {state}")
    for warning in report.warnings:
        out.print(_quality_line(warning, "yellow"))
    if report.performance is not None:
        perf = report.performance
        for chunk in perf.chunks:
            mark = "[red]drop[/]" if chunk.breached else "[green]ok[/]" if chunk.reason is None else "[dim]not judged[/]"
            detail = chunk.reason or f"{chunk.value:.4g} vs test {perf.baseline:.4g} (max drop {perf.max_drop:g})"
            out.print(f"{mark} {perf.metric} {chunk.chunk} ({chunk.rows} labelled): {escape(detail)}")
    for violation in report.violations:
        if violation.check in QUALITY_CHECKS:  # drift is in the table above
            out.print(_quality_line(violation, "red"))
    kinds: dict[str, list[str]] = {}
    for v in report.violations:
        kinds.setdefault(v.check, []).append(" ".join(part for part in (v.feature, f"[{v.chunk}]" if v.chunk else None) if part) or "dataset")
    for check, where in kinds.items():
        out.print(f"[red]breached[/] {escape(check)}: {len(where)} ({escape(', '.join(where))})")
    if not report.violations:
        out.print("[green]no check breached[/]")
    out.print(f"report: {escape(str(outcome.html))}\nviolations: {escape(str(outcome.violations))}\nmonitoring run: {outcome.run_id}")


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
    if given:  # the log's URL too: performance (labels=) joins the labels to it
        return {"current": Path(os.path.abspath(given)), "log_url": os.environ.get(LOG_URL_ENV) or None}
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


def _quality_line(violation, color: str) -> str:
    """``null share age: increase 0.2 (threshold 0.05, hydraops default)``; ``missing column plan``."""
    head = f"[{color}]{violation.check.replace('_', ' ')}[/] {violation.feature}"
    if violation.value is None:
        return head + (f": {violation.method}" if violation.method else "")
    return head + f": {violation.method} {violation.value:.4g} (threshold {violation.threshold:g}, {violation.threshold_source})"
