"""The model's metric on its served predictions once their labels have arrived, per time chunk, against the
version's test metric.

Each label joins, point in time, the latest prediction logged for its entity at or before the label's time
(at most ``max_age`` before it), never a later one: a DuckDB ASOF join of the labels to the prediction log.
The joined rows are cut into chunks of the predictions' time (``chunk``, UTC, aligned on the epoch: ``1d``
gives calendar days) and each chunk's metric is computed with training's metric functions
(:func:`hydraops.training.evaluate.metric_value`). A chunk with fewer than ``min_rows`` labelled predictions, or
on which the metric is undefined (one class only), is reported, not judged. A judged chunk whose metric is
worse than the baseline by more than ``max_drop`` is a ``performance`` violation (value: the drop).

    report = performance_checks(log, labels, keys=["customer_id"], label_time="label_time", target="churned",
                                metric="roc_auc", baseline=0.81, max_drop=0.05)
    report.violations
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.monitoring.check import Violation

if TYPE_CHECKING:
    import pandas as pd

REGRESSION_METRICS = frozenset({"rmse", "mae", "r2"})
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae"})  # as hydraops.registry.gates says
SOURCE = "monitor.performance.max_drop"


@dataclass(frozen=True)
class PerformanceResult:
    """The metric on one time chunk's labelled predictions: ``drop`` is how much worse than the baseline
    (positive: worse), None with ``reason`` when the chunk is not judged."""

    chunk: str  # 2026-11-23 (whole-day chunks) or 2026-11-23T06:00
    start: str  # ISO, UTC, inclusive
    end: str  # exclusive
    rows: int
    value: float | None
    drop: float | None
    breached: bool
    reason: str | None = None


@dataclass(frozen=True)
class PerformanceReport:
    metric: str
    baseline: float
    max_drop: float
    labels: int  # label rows read (with a key, a time and a target)
    joined: int  # of them, joined to a prediction (of the version judged, within the window)
    chunks: list[PerformanceResult] = field(default_factory=list)

    @property
    def violations(self) -> list[Violation]:
        return [Violation("performance", None, self.metric, r.drop, self.max_drop, SOURCE, r.chunk) for r in self.chunks if r.breached]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "chunks": [asdict(r) for r in self.chunks]}


def version_performance(spec, client, *, version: str, run_id: str, labels: Sequence[Path], start: datetime | None = None,
                        end: datetime | None = None, log: str | None = None) -> PerformanceReport:  # fmt: skip
    """The stage's hook: the labels files ``labels`` (the declared labels' keys, timestamp and target) joined to
    the model's predictions in the prediction log (``log``: its directory or URL with credentials, else
    ``stack.prediction_log``), judged by ``monitor.performance`` against the test metric of ``run_id`` (the run
    of model ``version``)."""
    from hydraops.config.durations import parse_duration
    from hydraops.serving.prediction_log import read_log

    declared, performance = spec.features.labels, spec.monitor.performance
    metric = performance.metric or spec.evaluate.primary_metric
    keys = spec.features.entities[declared.entity].join_keys
    # only the columns the join needs, and only from ``start``: a label whose latest prediction is older joins
    # nothing either way (a later bound would change which prediction is a label's latest: none is set)
    table = getattr(spec.stack.prediction_log, "table", None) if log else None
    needed = ["time", "model_name", "model_version", "prediction", *(f"key.{k}" for k in keys)]
    logged = read_log(log or spec.stack.prediction_log, start, table=table, columns=needed)
    if len(logged):
        logged = logged[logged["model_name"] == spec.registry.name]
    frame = read_labels(labels, [*keys, declared.timestamp, declared.target])
    source = spec.data.sources.get(declared.source)
    return performance_checks(
        logged, frame, keys=keys, label_time=declared.timestamp, target=declared.target, metric=metric, baseline=baseline_metric(client, run_id, metric),
        max_drop=performance.max_drop, chunk=parse_duration(performance.chunk), min_rows=performance.min_rows,
        max_age=None if performance.max_age is None else parse_duration(performance.max_age), threshold=spec.evaluate.threshold,
        version=version, start=start, end=end, timezone=source.timezone if source else None,
    )  # fmt: skip


def baseline_metric(client, run_id: str, metric: str) -> float:
    """The run's ``test.<metric>``: the baseline a chunk is compared with."""
    from hydraops.errors import MonitoringError

    metrics = client.get_run(run_id).data.metrics
    key = f"test.{metric}"
    if key not in metrics:
        have = ", ".join(sorted(k for k in metrics if k.startswith("test."))) or "none"
        raise MonitoringError(f"run {run_id} has no metric {key} to compare the served predictions with; test metrics: {have}",
                              key="monitor.performance.metric")  # fmt: skip
    return float(metrics[key])


def read_labels(paths: Sequence[Path], columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of parquet or CSV labels files, together; a MonitoringError naming a file and what it lacks."""
    import pandas as pd

    from hydraops.errors import MonitoringError

    frames = []
    for path in map(Path, paths):
        if not path.is_file():
            raise MonitoringError(f"labels {path}: no such file", key="labels", path=str(path))
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise MonitoringError(f"labels {path} lack column(s) {', '.join(lacking)} (the declared labels' keys, timestamp and target); "
                                  f"they have: {', '.join(map(str, frame.columns))}", key="labels", path=str(path), column=lacking[0])  # fmt: skip
        frames.append(frame[list(columns)])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))


def join_labels(predictions: pd.DataFrame, labels: pd.DataFrame, *, keys: Sequence[str], label_time: str, target: str,
                max_age: timedelta | None = None, timezone: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Each label with the latest prediction of its entity at or before its time (labels without one are left
    out). ``predictions``: prediction log rows (``time``, ``key.<k>``, ``prediction``, ``model_version``);
    ``labels``: rows with ``keys``, ``label_time`` and ``target`` (naive times are in ``timezone``, else UTC).
    Columns out: ``label``, ``label_time``, ``prediction``, ``prediction_time``, ``model_version``."""
    import duckdb
    import pandas as pd

    from hydraops.errors import MonitoringError

    lacking = [c for c in (*keys, label_time, target) if c not in labels.columns]
    if len(predictions) == 0:  # nothing logged (in the window): nothing joins
        predictions = pd.DataFrame({"time": pd.Series([], dtype="datetime64[us, UTC]"), "prediction": pd.Series([], dtype=float),
                                    **{f"key.{k}": pd.Series([], dtype=object) for k in keys}})  # fmt: skip
    lacking += [c for c in ("time", "prediction", *(f"key.{k}" for k in keys)) if c not in predictions.columns]
    if lacking:
        raise MonitoringError(f"performance: the labels or the prediction log lack column(s) {', '.join(lacking)}", column=lacking[0])
    left = _frame({f"k{i}": _key_text(labels[k]) for i, k in enumerate(keys)}, label_time=_utc(labels[label_time], timezone), label=labels[target])
    right = _frame({f"k{i}": predictions[f"key.{k}"] for i, k in enumerate(keys)}, prediction_time=_utc(predictions["time"], None),
                   prediction=predictions["prediction"], model_version=_version_text(predictions))  # fmt: skip
    on = " AND ".join([*(f"l.k{i} = p.k{i}" for i in range(len(keys))), "l.label_time >= p.prediction_time"])
    con = duckdb.connect()  # times go in as naive UTC, and come out as UTC again
    try:
        con.register("labels_in", left.dropna())
        con.register("log_in", right.dropna(subset=[*(f"k{i}" for i in range(len(keys))), "prediction_time", "prediction"]))
        joined = con.sql(f"SELECT l.label, l.label_time, p.prediction, p.prediction_time, p.model_version "
                         f"FROM labels_in l ASOF JOIN log_in p ON {on}").df()  # fmt: skip
    finally:
        con.close()
    for column in ("label_time", "prediction_time"):
        joined[column] = pd.to_datetime(joined[column]).dt.tz_localize("UTC")
    if max_age is not None:
        joined = joined[joined["label_time"] - joined["prediction_time"] <= max_age]
    return joined.sort_values(["prediction_time", "label_time"], kind="stable").reset_index(drop=True)


def performance_checks(predictions: pd.DataFrame, labels: pd.DataFrame, *, keys: Sequence[str], label_time: str, target: str, metric: str,
                       baseline: float, max_drop: float, chunk: timedelta = timedelta(days=1), min_rows: int = 100,
                       max_age: timedelta | None = None, threshold: float = 0.5, version: str | None = None,
                       start: datetime | None = None, end: datetime | None = None, timezone: str | None = None) -> PerformanceReport:  # fmt: skip
    """:func:`join_labels`, then ``metric`` per chunk of the predictions' time against ``baseline``; only the
    predictions of model ``version`` (when given) made in ``[start, end)`` (either open) count. ``threshold``:
    the classification threshold of label-based metrics (``evaluate.threshold``)."""
    joined = join_labels(predictions, labels, keys=keys, label_time=label_time, target=target, max_age=max_age, timezone=timezone)
    if version is not None:
        joined = joined[joined["model_version"] == str(version)]
    if start is not None:
        joined = joined[joined["prediction_time"] >= _instant(start)]
    if end is not None:
        joined = joined[joined["prediction_time"] < _instant(end)]
    read = int(labels[[*keys, label_time, target]].notna().all(axis=1).sum())
    chunks = [
        judge_chunk(part, metric, baseline, max_drop, label=label, start=begin, end=begin + chunk, min_rows=min_rows, threshold=threshold)
        for label, begin, part in time_chunks(joined, "prediction_time", chunk)
    ]
    return PerformanceReport(metric, float(baseline), float(max_drop), read, len(joined), chunks)


def judge_chunk(rows: pd.DataFrame, metric: str, baseline: float, max_drop: float, *, label: str, start: datetime, end: datetime,
                min_rows: int = 100, threshold: float = 0.5) -> PerformanceResult:  # fmt: skip
    """The metric on one chunk's joined rows (``label``, ``prediction``) against ``baseline``."""
    from hydraops.training.evaluate import metric_value

    bounds = {"chunk": label, "start": start.isoformat(), "end": end.isoformat(), "rows": len(rows)}
    if len(rows) < min_rows:
        reason = f"{len(rows)} labelled prediction(s), fewer than monitor.performance.min_rows ({min_rows})"
        return PerformanceResult(**bounds, value=None, drop=None, breached=False, reason=reason)
    value, reason = metric_value(metric, target_values(rows["label"], metric), rows["prediction"].to_numpy(dtype=float), threshold)
    if reason is not None:
        return PerformanceResult(**bounds, value=None, drop=None, breached=False, reason=reason)
    drop = value - baseline if metric in LOWER_IS_BETTER else baseline - value
    return PerformanceResult(**bounds, value=value, drop=drop, breached=drop > max_drop)


def time_chunks(frame: pd.DataFrame, column: str, length: timedelta) -> list[tuple[str, datetime, pd.DataFrame]]:
    """``(label, start, rows)`` per non-empty chunk of ``length`` (aligned on the UTC epoch), in time order."""
    import pandas as pd

    if frame.empty:
        return []
    step, epoch = pd.Timedelta(length), pd.Timestamp(0, tz="UTC")
    starts = epoch + ((frame[column] - epoch) // step) * step
    whole_days = step % pd.Timedelta(days=1) == pd.Timedelta(0)
    out = []
    for begin, part in frame.groupby(starts, sort=True):
        moment = pd.Timestamp(begin).to_pydatetime()
        out.append((moment.date().isoformat() if whole_days else moment.strftime("%Y-%m-%dT%H:%M"), moment, part))
    return out


def target_values(labels: pd.Series, metric: str) -> Any:
    """The labels as the metric takes them: floats (regression), else 0/1 (booleans, or 0/1 numbers)."""
    import numpy as np

    from hydraops.errors import MonitoringError

    if metric in REGRESSION_METRICS:
        return labels.to_numpy(dtype=float)
    values = labels.to_numpy()
    if values.dtype == bool:
        return values.astype(int)
    strange = sorted({str(v) for v in np.unique(values.astype(object)) if str(v) not in {"0", "1", "0.0", "1.0", "True", "False"}})
    if strange:
        raise MonitoringError(f"performance: the labels' target has value(s) {strange[:5]}; {metric} needs 0/1 (or booleans)")
    return values.astype(float).astype(int)


def _instant(moment: datetime) -> pd.Timestamp:
    import pandas as pd

    stamp = pd.Timestamp(moment)
    return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")


def _frame(keys: dict[str, pd.Series], **columns: pd.Series) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({**{k: v.to_numpy() for k, v in keys.items()}, **{k: v.to_numpy() for k, v in columns.items()}})


def _key_text(values: pd.Series) -> pd.Series:
    """Entity keys as the log writes them (``str`` of the value): ``42`` for 42 and 42.0."""
    from hydraops.monitoring.profile import category_key

    return values.map(lambda v: None if v is None or v != v else category_key(v)).astype(object)


def _version_text(predictions: pd.DataFrame) -> pd.Series:
    import pandas as pd

    if "model_version" not in predictions.columns:
        return pd.Series([None] * len(predictions), index=predictions.index, dtype=object)
    return predictions["model_version"].astype(object).map(lambda v: None if v is None or v != v else str(v))


def _utc(times: pd.Series, timezone: str | None) -> pd.Series:
    """Instants as naive UTC times: naive ``times`` are read in ``timezone`` (else UTC)."""
    import pandas as pd

    times = pd.to_datetime(times)
    if times.dt.tz is None:
        times = times.dt.tz_localize(timezone or "UTC")
    return times.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


__all__ = [
    "PerformanceReport", "PerformanceResult", "join_labels", "judge_chunk", "performance_checks", "read_labels", "target_values", "baseline_metric",
    "time_chunks", "version_performance",
]  # fmt: skip
