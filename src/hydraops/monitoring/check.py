"""Current data against a reference profile: every feature's drift (and the predictions', when the data has a
``prediction`` column; and a classifier's class mix), dataset drift, data quality
(:mod:`hydraops.monitoring.quality`), serving feature-status rates, and the violations among them, read in
batches (bounded memory), over the whole data and per time chunk.

report = check(profile, FileData(Path("last_week.parquet")), spec.monitor)     # or LogData(log, window, model)
report.violations      # one entry per breached check; empty: no breach
write_violations(report, Path("reports/monitor/violations.json"))

Which checks are judged where:

- the whole data: each column's drift (``data_drift``, ``prediction_drift``, ``prediction_class_mix``),
  ``dataset_drift``, ``missing_column``, ``feature_missing`` / ``feature_expired``;
- each time chunk (``chunk``: its label) with at least ``monitor.min_rows`` rows: each column's drift. A
  smaller chunk is reported (its statistics, ``judged: false``) but raises no violation.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.config.schemas import MonitorSpec
from hydraops.monitoring.chunks import STATUS, Tally
from hydraops.monitoring.class_mix import CLASS, class_reference, predicted_class
from hydraops.monitoring.current import CurrentData, FileData
from hydraops.monitoring.drift import DatasetDrift, DriftResult, column_drift, dataset_drift
from hydraops.monitoring.profile import PREDICTION, Profile
from hydraops.monitoring.serving_status import StatusRate, status_breaches, status_rates
from hydraops.monitoring.sketch import Sketch
from hydraops.monitoring.thresholds import column_thresholds

if TYPE_CHECKING:
    from datetime import datetime

    from hydraops.monitoring.performance import PerformanceReport
    from hydraops.monitoring.quality import DeclaredChecks

FORMAT = 1


@dataclass(frozen=True)
class Violation:
    """One breached check: which column (None: the whole dataset), what kind, its value against its threshold."""

    check: str  # data_drift | prediction_drift | prediction_class_mix | dataset_drift | null_share | out_of_range
    #             | unseen_category | type_change | missing_column | extra_column | feature_missing | feature_expired | performance
    feature: str | None
    method: str | None
    value: float | None
    threshold: float | None
    threshold_source: str | None
    chunk: str | None = None  # the time chunk's label; None: the whole data


@dataclass(frozen=True)
class ChunkReport:
    """One time chunk of the current data (``label`` e.g. ``2026-11-23``; start inclusive, end exclusive, ISO) and
    every column's drift within it."""

    label: str
    start: str | None
    end: str | None
    rows: int
    drift: list[DriftResult]
    judged: bool = True  # False: fewer than monitor.min_rows rows, reported but raising no violation
    statuses: list[StatusRate] = field(default_factory=list)  # serving feature-status rates (prediction log)


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
    statuses: list[StatusRate] = field(default_factory=list)  # serving feature-status rates (prediction log)
    versions: dict[str, int] = field(default_factory=dict)  # rows per model version (prediction log)
    timestamp: str | None = None  # the column that cut the data in chunks (None: not cut)
    untimed: int = 0  # rows without a timestamp: in the whole data, in no chunk
    warnings: list[Violation] = field(default_factory=list)  # reported, not breaches (extra columns)
    extra: list[str] = field(default_factory=list)  # current columns the model does not know
    performance: PerformanceReport | None = None  # the metric per chunk on labelled predictions, when labels were given

    @property
    def breached(self) -> bool:
        return bool(self.violations)


def check(profile: Profile, current: CurrentData, monitor: MonitorSpec, *, chunk_rows: int = 100_000, classify_at: float | None = None,
          declared: Mapping[str, DeclaredChecks] | None = None, known: Collection[str] = ()) -> MonitorReport:  # fmt: skip
    """Read ``current`` in batches of ``chunk_rows`` and judge every profiled column in it, over the whole data and
    per ``monitor.chunk`` of ``current.timestamp``; ``classify_at``: a classifier's threshold (class mix).

    ``declared``: the features' declared checks (:func:`~hydraops.monitoring.quality.declared_checks`);
    ``known``: columns that are expected besides the profiled ones (:func:`~hydraops.monitoring.quality.known_columns`).
    """
    from hydraops.config.durations import parse_duration
    from hydraops.errors import MonitoringError
    from hydraops.monitoring.quality import column_violations, extra_columns, quality_violations

    columns = current.columns()
    present = set(columns)
    features = [name for name in profile.features if name in present]
    predictions = [name for name in profile.predictions if name in present and name not in profile.features]
    references = {name: profile.column(name) for name in [*features, *predictions]}
    mix = class_reference(profile.predictions[PREDICTION], classify_at) if classify_at is not None and PREDICTION in predictions else None
    if mix is not None:
        references[CLASS] = mix
    statuses = [name for name in current.statuses if name in features]
    timestamp = current.timestamp if monitor.chunk else None
    step = parse_duration(monitor.chunk) if timestamp else None
    tally = Tally(references, timestamp=timestamp, step=step, statuses=statuses, source=current.name, declared=declared or {})
    read = list(dict.fromkeys([*features, *predictions, *([timestamp] if timestamp else []), *(STATUS + name for name in statuses)]))
    for frame in current.chunks(read, chunk_rows):
        tally.add(frame.assign(**{CLASS: predicted_class(frame[PREDICTION], classify_at)}) if mix is not None else frame)
    rows = tally.whole.rows
    if rows == 0:
        raise MonitoringError(f"{current.name}: no rows to judge", key=current.key)
    if rows < monitor.min_rows:
        raise MonitoringError(f"{current.name}: {rows} row(s), fewer than monitor.min_rows ({monitor.min_rows}) to judge drift on", key="monitor.min_rows")
    drift, sources, violations = _judge(tally.whole.sketches, monitor, predictions)
    dataset = dataset_drift([r for r in drift if r.column in features], monitor.drift_share)
    if dataset.drifted:
        violations.append(Violation("dataset_drift", None, "share", dataset.share, dataset.threshold, "monitor.drift_share"))
    violations += quality_violations(tally.whole.sketches, monitor, predictions=predictions)
    missing = [name for name in profile.features if name not in present]
    extra = extra_columns(columns, profile, known)
    breaches, warnings = column_violations(missing, extra, monitor)
    violations += breaches
    rates = status_rates(tally.whole.statuses)
    violations += [Violation(check, name, "share", share, limit, key) for check, name, share, limit, key in status_breaches(rates, monitor)]
    chunks = []
    for label, start, end, scope in tally.ordered():
        results, _, found = _judge(scope.sketches, monitor, predictions, chunk=label)
        judged = scope.rows >= monitor.min_rows
        chunks.append(ChunkReport(label, _iso(start), _iso(end), scope.rows, results, judged, status_rates(scope.statuses)))
        violations += found if judged else []
    return MonitorReport(rows, drift, sources, dataset, missing, violations, chunks, tally.whole.sketches, rates,
                         dict(getattr(current, "versions", {})), timestamp, tally.untimed, warnings, extra)  # fmt: skip


def check_file(profile: Profile, path: Path, monitor: MonitorSpec, *, chunk_rows: int = 100_000, timestamp: str | None = None,
               classify_at: float | None = None, declared: Mapping[str, DeclaredChecks] | None = None, known: Collection[str] = ()) -> MonitorReport:  # fmt: skip
    """:func:`check` of a parquet or CSV file, cut in chunks by ``monitor.timestamp`` (required in the file when
    set), else by ``timestamp`` when the file has that column (the labels' timestamp)."""
    current = FileData(path, monitor.timestamp or timestamp, required=monitor.timestamp is not None)
    return check(profile, current, monitor, chunk_rows=chunk_rows, classify_at=classify_at, declared=declared, known=known)


def _judge(sketches: Mapping[str, Sketch], monitor: MonitorSpec, predictions: list[str], chunk: str | None = None):
    """Each column's drift, the level of each threshold, and the drifted ones as violations."""
    drift, sources, violations = [], {}, []
    for name, sketch in sketches.items():
        limits = column_thresholds(monitor, name, prediction=name in predictions or name == CLASS)
        result = column_drift(sketch.reference, sketch, limits.drift)
        drift.append(result)
        sources[name] = limits.source(result.method)
        if result.drifted:
            check = "prediction_class_mix" if name == CLASS else "prediction_drift" if name in predictions else "data_drift"
            violations.append(Violation(check, name, result.method.value, result.statistic, result.threshold, sources[name], chunk))
    return drift, sources, violations


def breach_id(violation: Violation, *, model: str, version: str, data: str) -> str:
    """A stable id of one breach: the same check of the same column and chunk, for the same model version and the
    same current data (``data``: its digest, or the prediction log window), always gets the same id."""
    import hashlib

    key = json.dumps([model, str(version), data, violation.check, violation.feature, violation.chunk])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def breach_ids(report: MonitorReport, **about: Any) -> list[str]:
    """Each violation's :func:`breach_id`, in order, for ``about`` as :func:`write_violations` takes it (``data``,
    else the current file, identifies the data; ``source`` the data a time chunk is cut from: the same chunk of the
    prediction log read by two windows is the same breach): violations.json, the HTML report and the monitoring run
    agree."""
    model, version = str(about.get("model")), str(about.get("version"))
    data = str(about.get("data", about.get("current")))
    source = str(about.get("source", data))  # a chunk is the same chunk whatever window read it
    return [breach_id(v, model=model, version=version, data=source if v.chunk is not None else data) for v in report.violations]


def write_violations(report: MonitorReport, path: Path, **about: Any) -> Path:
    """``violations.json``: ``about`` (model, version, current file, ``data``: what identifies the current data),
    the violations (each with its :func:`breach_id`), every column's drift."""
    body = {
        "format": FORMAT, **about, "rows": report.rows, "breached": report.breached,
        "violations": [{"id": id_, **asdict(v)} for id_, v in zip(breach_ids(report, **about), report.violations, strict=True)],
        "warnings": [asdict(v) for v in report.warnings],
        "dataset_drift": asdict(report.dataset),
        "drift": [{**asdict(r), "method": r.method.value, "threshold_source": report.sources[r.column]} for r in report.drift],
        "feature_status": [asdict(rate) for rate in report.statuses], "model_versions": report.versions,
        "timestamp": report.timestamp, "untimed_rows": report.untimed,
        "chunks": [{**asdict(c), "drift": [{**asdict(r), "method": r.method.value} for r in c.drift]} for c in report.chunks],
    }  # fmt: skip
    if report.performance is not None:
        body["performance"] = report.performance.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=1) + "\n")
    return path


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["ChunkReport", "MonitorReport", "Violation", "breach_id", "breach_ids", "check", "check_file", "write_violations"]
