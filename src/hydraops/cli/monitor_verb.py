"""``hydraops monitor current=PATH [version=N]``: current data against a model version's reference profile;
exit 3 on a breach."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

from hydraops.cli.hydra_app import Options
from hydraops.cli.params import Kind, Param
from hydraops.config.schemas import ProjectSpec

MONITOR_PARAMS = (
    Param("current", Kind.PATH, "parquet or CSV rows to judge: the model's features, and `prediction` if scored (default: monitor.current)"),
    Param(
        "version",
        Kind.INT,
        "judge against this version's reference profile (default: deploy.alias's version)",
        expected="a version number, e.g. version=3",
        minimum=1,
    ),
    Param("alias", Kind.TEXT, "judge against the version this registry alias designates (default: deploy.alias)"),
    Param("chunk_rows", Kind.INT, "rows read at a time", minimum=1),
    Param(
        "labels",
        Kind.PATH,
        "labels that arrived (parquet or CSV: the declared labels' keys, timestamp, target): judge the logged predictions' metric per chunk",
    ),
    Param("performance", Kind.BOOL, "judge the logged predictions' metric per chunk on the declared labels source's files", default=False),
    Param("dry_run", Kind.BOOL, "show the plan and stop; nothing is read or written", default=False),
)


def monitor(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Plan the monitor stage and apply it: each drifted column, then violations.json; MonitoringBreach (exit 3) on a breach."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.cli.output import console
    from hydraops.errors import MonitoringBreach, UsageError
    from hydraops.monitoring.check import MonitorReport
    from hydraops.monitoring.quality import CHECKS as QUALITY_CHECKS

    given = options.get("current") or spec.monitor.current
    if not given:
        raise UsageError(
            "monitor needs current=PATH: a parquet or CSV file of rows to judge", key="current", hint="`hydraops monitor --help` lists its parameters"
        )
    stage = {
        "current": Path(os.path.abspath(given)),
        **{k: options.get(k) for k in ("version", "alias")},
        "chunk_rows": options.get("chunk_rows") or 100_000,
        "labels": Path(os.path.abspath(options["labels"])) if options.get("labels") else None,
        "performance": options.get("performance", False),
    }
    _, results = carry_out(job_context(spec, cfg), ["monitor"], {"monitor": stage}, dry_run=options.get("dry_run", False))
    reports = [r.value for r in results if isinstance(r.value, MonitorReport)]
    out = console()
    for report in reports:
        for result in report.drift:
            mark = "[red]drift[/]" if result.drifted else "[green]ok[/]"
            out.print(
                f"  {mark} {result.column}: {result.method.value} {result.statistic:.4g} (threshold {result.threshold:g}, {report.sources[result.column]})"
            )
        for violation in report.violations:
            if violation.check in QUALITY_CHECKS:  # drift is printed per column above
                out.print(_quality_line(violation, "red"))
        for warning in report.warnings:
            out.print(_quality_line(warning, "yellow"))
        if report.performance is not None:
            perf = report.performance
            for chunk in perf.chunks:
                mark = "[red]drop[/]" if chunk.breached else "[green]ok[/]" if chunk.reason is None else "[dim]not judged[/]"
                detail = chunk.reason or f"{chunk.value:.4g} vs test {perf.baseline:.4g} (max drop {perf.max_drop:g})"
                out.print(f"  {mark} {perf.metric} {chunk.chunk} ({chunk.rows} labelled): {detail}")
    breached = [v for report in reports for v in report.violations]
    if breached:
        kinds = sorted({v.check for v in breached})
        raise MonitoringBreach(f"{len(breached)} monitoring check(s) breached ({', '.join(kinds)}): see {results[0].action.output}")


def _quality_line(violation, color: str) -> str:
    """``null share age: increase 0.2 (threshold 0.05, hydraops default)``; ``missing column plan``."""
    head = f"  [{color}]{violation.check.replace('_', ' ')}[/] {violation.feature}"
    if violation.value is None:
        return head + (f": {violation.method}" if violation.method else "")
    return head + f": {violation.method} {violation.value:.4g} (threshold {violation.threshold:g}, {violation.threshold_source})"
