"""Served requests without a server: rows scored by a registered version and written to the prediction log by
the service's own writer, as ``hydraops serve`` would log them (for monitoring and lineage tests, and docs).

    from hydraops.testing.served import log_served
    predictions = log_served(spec, client, "req-1", frame, alias="champion")

Imports BentoML (the writer's metrics): import this module only where that is fine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from hydraops.config.schemas import ProjectSpec


def log_served(spec: ProjectSpec, client, request_id: str, rows: pd.DataFrame, *, alias: str | None = None, version: str | int | None = None,
               location: Any = None) -> list[float]:  # fmt: skip
    """Score ``rows`` (the model's inputs, and the entity keys) with the version ``version`` names, else the one
    ``alias`` designates (default ``deploy.alias``), fetched through ``client`` and checked against its sha256;
    log them as one request ``request_id`` (every input ``given``) to ``location`` (default
    ``stack.prediction_log``); returns the predictions."""
    from hydraops.errors import ServingError
    from hydraops.serving.log_stores import open_sink
    from hydraops.serving.log_writer import PredictionLog, entries
    from hydraops.serving.predictor import Predictor
    from hydraops.serving.spec import ServingSpec, registered

    name = spec.registry.name
    alias = alias or spec.deploy.alias
    number = str(version) if version is not None else str(client.get_registered_model(name).aliases[alias])
    model, inputs, _ = registered(client, name, number, None if version is not None else alias)
    serving = ServingSpec.create(spec, model, inputs)
    if serving.prediction_log is None and location is None:
        raise ServingError("the project logs no predictions (stack.prediction_log, deploy.service.prediction_log.enabled)")
    with tempfile.TemporaryDirectory(prefix="hydraops-served-") as scratch:
        folder = client.download_artifacts(model.run_id, "model", scratch)
        predictions = [float(p) for p in Predictor(serving, Path(folder)).predict(rows)]
    import pandas as pd

    records = rows.to_dict("records")
    values = [{f: None if pd.isna(record.get(f)) else record.get(f) for f in serving.feature_names} for record in records]  # missing: null, as served
    statuses = [{f: "given" for f in serving.feature_names} for _ in records]
    log = PredictionLog(serving, open_sink(serving.prediction_log or {"type": "parquet"}, None if location is None else str(location)))
    log.offer(entries(serving, request_id, records, values, statuses, predictions))
    log.close()
    return predictions
