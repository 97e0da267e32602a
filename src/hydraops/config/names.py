"""The one registry from short names in config to implementations, and the ``_target_`` allow-list.

Implementations are named as ``"module:attribute"`` strings and imported only when used, so composing
and validating a config never imports scikit-learn or LightGBM.
"""

from __future__ import annotations

from dataclasses import dataclass

from hydraops.config.schemas import (
    HistGradientBoostingSpec,
    LightGBMSpec,
    LinearRegressionSpec,
    LogisticRegressionSpec,
    ModelSpec,
    RandomForestSpec,
    SklearnEstimatorSpec,
    Task,
)


@dataclass(frozen=True)
class ModelEntry:
    """A model short name: its schema and the estimator class for each task it supports."""

    spec: type[ModelSpec]
    estimators: dict[Task, str]


MODELS: dict[str, ModelEntry] = {
    "lightgbm": ModelEntry(
        LightGBMSpec,
        {Task.classification: "lightgbm:LGBMClassifier", Task.regression: "lightgbm:LGBMRegressor"},
    ),
    "logistic_regression": ModelEntry(
        LogisticRegressionSpec, {Task.classification: "sklearn.linear_model:LogisticRegression"}
    ),
    "linear_regression": ModelEntry(LinearRegressionSpec, {Task.regression: "sklearn.linear_model:Ridge"}),
    "random_forest": ModelEntry(
        RandomForestSpec,
        {
            Task.classification: "sklearn.ensemble:RandomForestClassifier",
            Task.regression: "sklearn.ensemble:RandomForestRegressor",
        },
    ),
    "hist_gradient_boosting": ModelEntry(
        HistGradientBoostingSpec,
        {
            Task.classification: "sklearn.ensemble:HistGradientBoostingClassifier",
            Task.regression: "sklearn.ensemble:HistGradientBoostingRegressor",
        },
    ),
    # Any allow-listed estimator named by ``model.estimator._target_``; supports whichever task it does.
    "sklearn": ModelEntry(SklearnEstimatorSpec, {}),
}

#: ``_target_`` values must start with one of these; anything else is refused before anything runs.
ALLOWED_TARGET_PREFIXES: tuple[str, ...] = ("sklearn.", "lightgbm.", "hydraops.")

METRICS: dict[Task, tuple[str, ...]] = {
    Task.classification: ("roc_auc", "pr_auc", "log_loss", "brier", "f1", "precision", "recall", "accuracy"),
    Task.regression: ("rmse", "mae", "r2"),
}

PLOTS: dict[Task, tuple[str, ...]] = {
    Task.classification: ("roc", "pr", "calibration", "confusion_matrix", "feature_importance"),
    Task.regression: ("residuals", "feature_importance"),
}


def is_allowed_target(target: str) -> bool:
    """Whether a ``_target_`` may be instantiated."""
    return target.startswith(ALLOWED_TARGET_PREFIXES)
