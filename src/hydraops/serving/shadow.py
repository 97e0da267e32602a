"""Shadow mode: the version ``deploy.shadow`` points to (the bundle's ``shadow/`` folder, checked against its
sha256 like the served model), scored on the values served to the main model and only logged. The
prediction log's writer scores it on each batch, off the request path: a shadow that fails to load or to
predict never fails a request; the failure is logged, counted in ``hydraops_shadow_failures_total`` and
written in the rows' ``shadow_error``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import bentoml

from hydraops.serving.bundle import SHADOW_DIR
from hydraops.serving.spec import FeatureField, ServingSpec

__all__ = ["SHADOW_DIR", "Shadow"]
logger = logging.getLogger(__name__)

SHADOW_PREDICTIONS = bentoml.metrics.Counter(name="hydraops_shadow_predictions", documentation="Rows the shadow model scored",
                                             labelnames=["model", "version"])  # fmt: skip
SHADOW_FAILURES = bentoml.metrics.Counter(name="hydraops_shadow_failures", documentation="Rows the shadow model failed to score",
                                          labelnames=["model", "version"])  # fmt: skip


class Shadow:
    """The shadow version of ``spec`` (``spec.shadow`` must be set), loaded from ``folder``."""

    def __init__(self, spec: ServingSpec, folder: Path):
        ref = spec.shadow
        declared = {f.name: f for f in spec.features}
        self.version = ref.model.version
        self.spec = replace(spec, model=ref.model, features=[declared.get(n, FeatureField(n)) for n in ref.features],
                            categories=dict(ref.categories), shadow=None)  # fmt: skip
        self.labels = {"model": ref.model.name, "version": ref.model.version}
        self.predictor = None
        self.error: str | None = None
        try:
            from hydraops.serving.predictor import Predictor

            self.predictor = Predictor(self.spec, folder, threads=1)
        except Exception as error:  # noqa: BLE001 - the served model still serves; every logged row says why
            self.error = f"shadow model {ref.model.name}/{ref.model.version} not loaded: {error}"
            logger.error(self.error)

    def score(self, values: list[dict]) -> tuple[list[float | None], str | None]:
        """The shadow's prediction of each row of served ``values`` (None each, and why, when it fails)."""
        if self.predictor is None:
            SHADOW_FAILURES.labels(**self.labels).inc(len(values))
            return [None] * len(values), self.error
        try:
            predictions = self.predictor.predict(self.predictor.inputs(values))  # the served model's short path
        except Exception as error:  # never the request's failure
            logger.exception("shadow model %s/%s failed on %d row(s)", self.spec.model.name, self.version, len(values))
            SHADOW_FAILURES.labels(**self.labels).inc(len(values))
            return [None] * len(values), f"{type(error).__name__}: {error}"
        SHADOW_PREDICTIONS.labels(**self.labels).inc(len(values))
        return [float(p) for p in predictions], None
