"""Prediction logs for tests, written by the service's own log writer (:class:`PredictionLog` and its parquet
or PostgreSQL sink) with chosen times, as if a service had answered those rows then.

    spec = log_spec({"type": "parquet", "path": str(tmp_path / "log")}, numeric=["normal"], categorical={"plan": [...]})
    write_rows(spec, frame, times, predictions, statuses={"normal": ["present", ...]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hydraops.serving.spec import FeatureField, ModelRef, ServingSpec, ViewLookup

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["log_spec", "write_rows"]


def log_spec(prediction_log: dict[str, Any], *, numeric: Sequence[str] = (), categorical: Mapping[str, list] | None = None, model: str = "churn",
             version: str = "3") -> ServingSpec:  # fmt: skip
    """A classifier's serving spec logging to ``prediction_log``: ``numeric`` float64 inputs and ``categorical``
    ones, all looked up from one view of the entity ``customer_id``; the writer's queue holds a million rows."""
    categorical = dict(categorical or {})
    features = [FeatureField(name, "float64", view="customer") for name in numeric]
    features += [FeatureField(name, "category", isin=levels, view="customer") for name, levels in categorical.items()]
    return ServingSpec(
        project="logged", model=ModelRef(model, version, "run-0", "champion", "lightgbm", "0" * 64), task="classification",
        features=features, categories=categorical,
        views=[ViewLookup("customer", ["customer_id"], [f.name for f in features], 86_400.0)],
        service={"prediction_log": {"enabled": True, "queue_size": 1_000_000, "flush_rows": 1_000_000, "flush_seconds": 0.05}},
        prediction_log=prediction_log,
    )  # fmt: skip


def write_rows(spec: ServingSpec, frame: pd.DataFrame, times: Sequence[datetime], predictions: Sequence[float],
               statuses: Mapping[str, Sequence[str]] | None = None, *, url: str | None = None) -> None:  # fmt: skip
    """Log ``frame``'s rows (its columns: the spec's inputs) served at ``times`` with ``predictions``, through
    :class:`~hydraops.serving.log_writer.PredictionLog` into the spec's sink (``url``: its PostgreSQL URL);
    each input's status is ``present`` unless ``statuses`` says otherwise."""
    from hydraops.serving.log_stores import open_sink
    from hydraops.serving.log_writer import Entry, PredictionLog

    names = spec.feature_names
    records = frame[names].astype(object).where(frame[names].notna(), None).to_dict("records")
    entries = []
    for i, (values, moment, prediction) in enumerate(zip(records, times, predictions, strict=True)):
        status = {name: (statuses[name][i] if statuses and name in statuses else "present") for name in names}
        entries.append(Entry(f"request-{i // 10}", i % 10, moment, {"customer_id": i}, values, status, float(prediction)))
    log = PredictionLog(spec, open_sink(spec.prediction_log, url))
    log.offer(entries)
    log.close()
