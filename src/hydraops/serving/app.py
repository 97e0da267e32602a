"""The loaded bundle behind every route: its spec, its model (or why it did not load), its online store,
and the one path every wire format's rows take: validation, lookup, the missing policy, the model,
explanations, and the counters ``/metrics`` shows."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import bentoml

from hydraops.serving.alias_watch import AliasWatch
from hydraops.serving.explaining import explanations
from hydraops.serving.log_writer import entries, open_log
from hydraops.serving.lookup import OnlineFeatures, apply_missing_policy
from hydraops.serving.problems import FieldError, Refusal, invalid, unavailable
from hydraops.serving.spec import FILE, ServingSpec
from hydraops.serving.validation import check_row_count, validate_rows

MODEL_DIR = "model"
logger = logging.getLogger(__name__)

PREDICTIONS = bentoml.metrics.Counter(name="hydraops_predictions", documentation="Rows predicted", labelnames=["model", "version"])
VALIDATION_FAILURES = bentoml.metrics.Counter(
    name="hydraops_validation_failures", documentation="Requests refused with a 4xx problem", labelnames=["model", "version", "status"]
)
FEATURE_VALUES = bentoml.metrics.Counter(
    name="hydraops_feature_values", documentation="Served feature values by status (given/present/missing/expired)", labelnames=["feature", "status"]
)


class Serving:
    """The bundle in ``folder``: ``serving.json`` and ``model/`` (checked against its sha256); ``online_url``
    replaces the declared online store's URL (Redis) or path (SQLite), ``registry_uri`` the recorded registry's,
    ``log_url`` the prediction log's PostgreSQL URL or parquet directory."""

    def __init__(self, folder: Path, online_url: str | None = None, registry_uri: str | None = None, *, log_url: str | None = None):
        self.spec = ServingSpec.from_json((folder / FILE).read_text())
        self.labels = {"model": self.spec.model.name, "version": self.spec.model.version}
        self.predictor = None
        self.load_error: str | None = None
        try:
            from hydraops.serving.predictor import Predictor

            self.predictor = Predictor(self.spec, folder / MODEL_DIR, threads=1)  # small requests: no thread start-up
            if self.spec.service.get("explain", True):
                _ = self.predictor.shap_tables  # made before the first request, not during it
        except Exception as error:  # noqa: BLE001 - the service stays up and says why it is not ready
            self.load_error = f"model {self.spec.model.name}/{self.spec.model.version} not loaded: {error}"
            logger.error(self.load_error)
        self.online = OnlineFeatures(self.spec, online_url)
        self.alias = AliasWatch(self.spec, registry_uri)
        self.log = open_log(self.spec, folder, log_url)

    def not_ready(self) -> str | None:
        """Why the service cannot serve now (model, online store, an alias moved); None when it can."""
        return self.load_error or self.online.check() or self.alias.check()

    def ready_document(self) -> dict[str, Any]:
        """``/readyz``'s body when ready: with the alias served, where it points, or why that is unknown."""
        alias = self.alias.document()
        return {"status": "ready"} if alias is None else {"status": "ready", "alias": alias}

    def max_body_bytes(self) -> int:
        return int(self.spec.service.get("max_body_bytes", 1_048_576))

    def predict(self, body: bytes, request_id: str) -> dict[str, Any]:
        """The native ``/predict`` response for ``body``; a Refusal for a refusal."""
        from hydraops.serving.validation import parse_predict

        self.require_model()
        request = parse_predict(body, self.spec.service)
        return self.predict_rows(request.rows, request_id, explain=request.explain, top_k=request.top_k)

    def predict_rows(self, rows: list[dict[str, Any]], request_id: str, *, explain: bool = False, top_k: int | None = None) -> dict[str, Any]:
        """Rows (entity keys and/or feature values) → the native response document; a Refusal for a refusal."""
        self.require_model()
        if not rows:
            raise invalid([FieldError(None, "rows", "minItems=1", "the request has no rows")])
        check_row_count(len(rows), self.spec.service)
        errors = validate_rows(self.spec, rows)
        if errors:
            raise invalid(errors)
        if explain and not self.spec.service.get("explain", True):
            raise Refusal(422, "not-explainable", "Explanations off", "this service gives no explanations (deploy.service.explain: false): send explain: false")
        if explain and not self.predictor.explainable:
            raise Refusal(422, "not-explainable", "Not explainable",
                          f"model {self.spec.model.name}/{self.spec.model.version} ({self.spec.model.flavor}) gives no explanations: send explain: false")  # fmt: skip
        served = self.online.serve(rows)
        for statuses in served.statuses:
            for name, status in statuses.items():
                FEATURE_VALUES.labels(feature=name, status=status).inc()
        served = apply_missing_policy(self.spec, served)
        inputs = self.predictor.inputs(served.values)  # prepared once, for the prediction and its explanation
        predictions = self.predictor.predict(inputs)
        document = {
            "request_id": request_id,
            "model": {"name": self.spec.model.name, "version": self.spec.model.version},
            "predictions": [float(p) for p in predictions],
            "features": [
                {name: {"value": values[name], "status": statuses[name]} for name in self.spec.feature_names}
                for values, statuses in zip(served.values, served.statuses)
            ],
        }
        if explain:
            document["explanations"] = explanations(self.predictor.explain(inputs), self.spec.feature_names, served.values, top_k)
        PREDICTIONS.labels(**self.labels).inc(len(predictions))
        if self.log is not None:
            self.log.offer(entries(self.spec, request_id, rows, served.values, served.statuses, document["predictions"], document.get("explanations")))
        return document

    def close(self) -> None:
        """Graceful stop: every queued prediction log row written."""
        if self.log is not None:
            self.log.close()

    def require_model(self) -> None:
        if self.predictor is None:
            raise unavailable(self.load_error or "the model is not loaded")

    def count_refusal(self, status: int) -> None:
        VALIDATION_FAILURES.labels(**self.labels, status=str(status)).inc()
