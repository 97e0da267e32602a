"""The model of a bundle: its files checked against the recorded sha256, loaded by flavor (never pickle),
then predictions and explanations from raw feature values. Serving and batch scoring both call it, so
they give the same numbers, and the same numbers as the model in training (``training.evaluate``).

A service's rows take a short path to a LightGBM model: :meth:`Predictor.inputs` builds the float64 matrix
the booster would build from the prepared frame (``serving.matrix``), without pandas; batch scoring's
frames and scikit-learn models (pipelines take frames) go through ``prepare_features``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.errors import ServingError
from hydraops.serving.spec import ServingSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from hydraops.serving.treeshap import TreeShapTables


@dataclass(frozen=True)
class Explanation:
    """Per row: the base value and each input's contribution, in ``space`` (``raw margin (log-odds)`` for a
    classifier, ``target units`` for a regressor); base + contributions = the raw prediction."""

    base: np.ndarray  # (rows,)
    contributions: np.ndarray  # (rows, features), in the spec's feature order
    raw: np.ndarray  # (rows,): the model's raw prediction the contributions add up to
    space: str


@dataclass(frozen=True)
class Inputs:
    """Rows as the model takes them, prepared once for a prediction and its explanation: a float64 matrix
    in the spec's feature order (LightGBM) or the prepared frame."""

    data: np.ndarray | pd.DataFrame


class Predictor:
    """Loads the model in ``model_dir`` (checked against ``spec.model``'s sha256 and flavor). ``threads``:
    LightGBM's threads per call (0: its default, all cores; 1 for a service's small requests, where starting
    threads costs more than the trees: ~10x faster on one row). Each row's result is the same either way."""

    def __init__(self, spec: ServingSpec, model_dir: Path | str, *, threads: int = 0):
        from hydraops.tracking.model_load import verified_folder

        self.spec = spec
        self.threads = threads
        self.model = verified_folder(f"{spec.model.name}/{spec.model.version}", Path(model_dir), spec.model.sha256, spec.model.flavor).load()
        self.matrix = None
        if spec.model.flavor == "lightgbm":
            from hydraops.serving.matrix import MatrixBuilder

            self.matrix = MatrixBuilder.for_booster(spec, self.model)

    def inputs(self, values: list[dict[str, Any]]) -> Inputs:
        """Served rows (every model input by name, None where missing) as the model's input: the matrix
        for LightGBM when every categorical value maps without pandas, else the prepared frame."""
        matrix = self.matrix.build(values) if self.matrix is not None else None
        if matrix is not None:
            return Inputs(matrix)
        from hydraops.serving.lookup import model_frame

        return Inputs(self.prepare(model_frame(self.spec, values)))

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's inputs in its order, categoricals as the training levels (unseen → missing)."""
        from hydraops.training.estimators import prepare_features

        missing = [name for name in self.spec.feature_names if name not in frame.columns]
        if missing:
            raise ServingError(f"the rows lack the model's input(s) {', '.join(missing)}")
        return prepare_features(frame[self.spec.feature_names], self.spec.categories)

    def predict(self, frame: pd.DataFrame | Inputs) -> np.ndarray:
        """Probability of class 1 (classification) or the prediction (regression), one float per row, from
        raw feature values (a frame) or :meth:`inputs`."""
        import numpy as np

        prepared = frame.data if isinstance(frame, Inputs) else self.prepare(frame)
        if self.spec.model.flavor == "lightgbm":  # a Booster: probabilities (binary) or values (regression)
            return np.asarray(self.model.predict(prepared, num_threads=self.threads), dtype=float).reshape(-1)
        from hydraops.config.schemas import Task
        from hydraops.training.evaluate import predict_scores

        return predict_scores(self.model, prepared, Task(self.spec.task))

    def explain(self, frame: pd.DataFrame | Inputs) -> Explanation:
        """Exact contributions: LightGBM's TreeSHAP (``pred_contrib``'s values, from :attr:`shap_tables` where
        they apply); a linear scikit-learn model's
        ``coef × (x − training mean)`` (``serving.linear``). Other models: a ServingError saying they are not
        explainable (the build refuses ``explain: true`` for them)."""
        import numpy as np

        if not self.explainable:
            raise ServingError(f"model {self.spec.model.name}/{self.spec.model.version} ({self.spec.model.flavor}) is not explainable: "
                               "hydraops explains LightGBM and linear models (deploy.service.explain: false for others)")  # fmt: skip
        prepared = frame.data if isinstance(frame, Inputs) else self.prepare(frame)
        space = "raw margin (log-odds)" if self.spec.task == "classification" else "target units"
        if self.spec.model.flavor != "lightgbm":
            from hydraops.serving.linear import explain_linear

            base, contributions, raw = explain_linear(self.model, prepared, self.spec.feature_names, self.spec.background, self.spec.task == "classification")
            return Explanation(base, contributions, raw, space)
        if self.shap_tables is not None:
            from hydraops.serving.matrix import frame_matrix

            contributions, raw = self.shap_tables(prepared if isinstance(prepared, np.ndarray) else frame_matrix(prepared))
        else:
            contributions = np.asarray(self.model.predict(prepared, pred_contrib=True, num_threads=self.threads), dtype=float)
            raw = np.asarray(self.model.predict(prepared, raw_score=True, num_threads=self.threads), dtype=float).reshape(-1)
        # the raw score is raw_score's: the contributions' sum differs from it in the last bits (summed in another order)
        return Explanation(contributions[:, -1], contributions[:, :-1], raw, space)

    @cached_property
    def shap_tables(self) -> TreeShapTables | None:
        """A LightGBM model's TreeSHAP tables (``serving.treeshap``: ``pred_contrib``'s values several times
        faster on small requests), made on first use; None for other models or where they do not apply."""
        if self.spec.model.flavor != "lightgbm":
            return None
        from hydraops.serving.treeshap import tables_for

        return tables_for(self.model)

    @cached_property
    def explainable(self) -> bool:
        """LightGBM models, and linear scikit-learn models (``serving.linear.is_linear``)."""
        if self.spec.model.flavor == "lightgbm":
            return True
        from hydraops.serving.linear import is_linear

        return is_linear(self.model)
