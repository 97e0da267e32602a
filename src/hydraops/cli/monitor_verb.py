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
    Param("dry_run", Kind.BOOL, "show the plan and stop; nothing is read or written", default=False),
)


def monitor(spec: ProjectSpec, cfg: DictConfig, options: Options) -> None:
    """Plan the monitor stage and apply it: each drifted column, then violations.json; MonitoringBreach (exit 3) on a breach."""
    from hydraops.cli.acting import carry_out
    from hydraops.cli.context import job_context
    from hydraops.cli.output import console
    from hydraops.errors import MonitoringBreach, UsageError
    from hydraops.monitoring.check import MonitorReport

    given = options.get("current") or spec.monitor.current
    if not given:
        raise UsageError(
            "monitor needs current=PATH: a parquet or CSV file of rows to judge", key="current", hint="`hydraops monitor --help` lists its parameters"
        )
    stage = {"current": Path(os.path.abspath(given)), **{k: options.get(k) for k in ("version", "alias")}, "chunk_rows": options.get("chunk_rows") or 100_000}
    _, results = carry_out(job_context(spec, cfg), ["monitor"], {"monitor": stage}, dry_run=options.get("dry_run", False))
    reports = [r.value for r in results if isinstance(r.value, MonitorReport)]
    out = console()
    for report in reports:
        for result in report.drift:
            mark = "[red]drift[/]" if result.drifted else "[green]ok[/]"
            out.print(
                f"  {mark} {result.column}: {result.method.value} {result.statistic:.4g} (threshold {result.threshold:g}, {report.sources[result.column]})"
            )
    breached = [v for report in reports for v in report.violations]
    if breached:
        kinds = sorted({v.check for v in breached})
        raise MonitoringBreach(f"{len(breached)} monitoring check(s) breached ({', '.join(kinds)}): see {results[0].action.output}")
