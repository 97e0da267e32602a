"""Current data against a reference profile: every feature's drift (and the predictions', when the file has a
``prediction`` column), dataset drift, and the violations among them, read in chunks (bounded memory).

report = check_file(profile, Path("last_week.parquet"), spec.monitor)
report.violations      # one entry per breached check; empty: no breach
write_violations(report, Path("reports/monitor/violations.json"))
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.config.schemas import MonitorSpec
from hydraops.monitoring.drift import DatasetDrift, DriftResult, column_drift, dataset_drift
from hydraops.monitoring.profile import Profile
from hydraops.monitoring.sketch import Sketch
from hydraops.monitoring.thresholds import column_thresholds

if TYPE_CHECKING:
    import pandas as pd

FORMAT = 1


@dataclass(frozen=True)
class Violation:
    """One breached check: which column (None: the whole dataset), what kind, its value against its threshold."""

    check: str  # data_drift | prediction_drift | dataset_drift | missing_column
    feature: str | None
    method: str | None
    value: float | None
    threshold: float | None
    threshold_source: str | None
    chunk: str | None = None  # the time chunk (not cut yet: the whole file)


@dataclass(frozen=True)
class ChunkReport:
    """One time chunk of the current data (``label`` e.g. ``2026-11-23``; start inclusive, end exclusive, ISO) and
    every column's drift within it."""

    label: str
    start: str | None
    end: str | None
    rows: int
    drift: list[DriftResult]


@dataclass(frozen=True)
class MonitorReport:
    rows: int
    drift: list[DriftResult]  # over the whole current data
    sources: dict[str, str]  # column -> the config level of the threshold it was judged against
    dataset: DatasetDrift
    missing: list[str] = field(default_factory=list)  # profiled features the file does not have
    violations: list[Violation] = field(default_factory=list)
    chunks: list[ChunkReport] = field(default_factory=list)  # per time chunk, in time order (empty: not chunked)
    sketches: dict[str, Sketch] = field(default_factory=dict)  # column -> its current values over the whole data

    @property
    def breached(self) -> bool:
        return bool(self.violations)


def check_file(profile: Profile, path: Path, monitor: MonitorSpec, *, chunk_rows: int = 100_000) -> MonitorReport:
    """Read ``path`` (parquet or CSV) in chunks of ``chunk_rows`` and judge every profiled column in it."""
    from hydraops.errors import MonitoringError

    present = set(_columns(path))
    features = [name for name in profile.features if name in present]
    predictions = [name for name in profile.predictions if name in present and name not in profile.features]
    sketches = {name: Sketch(profile.column(name)) for name in [*features, *predictions]}
    rows = 0
    for chunk in _chunks(path, list(sketches), chunk_rows):
        rows += len(chunk)
        for name, sketch in sketches.items():
            sketch.add(chunk[name])
    if rows < monitor.min_rows:
        raise MonitoringError(
            f"{path}: {rows} row(s), fewer than monitor.min_rows ({monitor.min_rows}) to judge drift on", key="monitor.min_rows", path=str(path)
        )
    drift, sources, violations = [], {}, []
    for name, sketch in sketches.items():
        limits = column_thresholds(monitor, name, prediction=name in predictions)
        result = column_drift(sketch.reference, sketch, limits.drift)
        drift.append(result)
        sources[name] = limits.source(result.method)
        if result.drifted:
            check = "prediction_drift" if name in predictions else "data_drift"
            violations.append(Violation(check, name, result.method.value, result.statistic, result.threshold, sources[name]))
    dataset = dataset_drift([r for r in drift if r.column in features], monitor.drift_share)
    if dataset.drifted:
        violations.append(Violation("dataset_drift", None, "share", dataset.share, dataset.threshold, "monitor.drift_share"))
    missing = [name for name in profile.features if name not in present]
    violations += [Violation("missing_column", name, None, None, None, None) for name in missing]
    return MonitorReport(rows, drift, sources, dataset, missing, violations, sketches=sketches)


def breach_id(violation: Violation, *, model: str, version: str, data: str) -> str:
    """A stable id of one breach: the same check of the same column and chunk, for the same model version and the
    same current data (``data``: its digest, or the prediction log window), always gets the same id."""
    import hashlib

    key = json.dumps([model, str(version), data, violation.check, violation.feature, violation.chunk])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def write_violations(report: MonitorReport, path: Path, **about: Any) -> Path:
    """``violations.json``: ``about`` (model, version, current file, ``data``: what identifies the current data),
    the violations (each with its :func:`breach_id`), every column's drift."""
    ids = {"model": str(about.get("model")), "version": str(about.get("version")), "data": str(about.get("data", about.get("current")))}
    body = {
        "format": FORMAT, **about, "rows": report.rows, "breached": report.breached,
        "violations": [{"id": breach_id(v, **ids), **asdict(v)} for v in report.violations],
        "dataset_drift": asdict(report.dataset),
        "drift": [{**asdict(r), "method": r.method.value, "threshold_source": report.sources[r.column]} for r in report.drift],
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=1) + "\n")
    return path


def _columns(path: Path) -> list[str]:
    from hydraops.errors import MonitoringError

    if not path.is_file():
        raise MonitoringError(f"current={path}: no such file", key="current", path=str(path))
    if _is_csv(path):
        import pandas as pd

        return list(pd.read_csv(path, nrows=0).columns)
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(path).schema_arrow.names)


def _chunks(path: Path, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    if _is_csv(path):
        import pandas as pd

        yield from pd.read_csv(path, usecols=list(columns), chunksize=chunk_rows)
        return
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps every row group read until the end
    for batch in source.iter_batches(batch_size=chunk_rows, columns=list(columns)):
        yield batch.to_pandas()


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


__all__ = ["ChunkReport", "MonitorReport", "Violation", "breach_id", "check_file", "write_violations"]
