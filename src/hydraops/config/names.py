"""The one registry from short names in config to implementations, and the ``_target_`` allow-list.

Implementations are named as ``"module:attribute"`` strings and imported only when used, so composing
and validating a config never imports scikit-learn or LightGBM.
"""

from __future__ import annotations

import re
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
    "logistic_regression": ModelEntry(LogisticRegressionSpec, {Task.classification: "sklearn.linear_model:LogisticRegression"}),
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

#: A ``_target_`` names an estimator class of one of these packages: ``validate`` checks the name (a public
#: module path, a class-looking name); training checks the object (a class deriving from scikit-learn's
#: ``BaseEstimator``, as LightGBM's models do) before it builds anything.
ESTIMATOR_PACKAGES: tuple[str, ...] = ("sklearn", "lightgbm")
#: Keys next to a ``_target_`` that Hydra's instantiate would act on: refused (estimators take keyword arguments).
INSTANTIATE_KEYS: tuple[str, ...] = ("_args_", "_partial_", "_recursive_", "_convert_")
_MODULE = re.compile(r"[a-z][a-z0-9_]*")
_CLASS = re.compile(r"[A-Z][A-Za-z0-9]*")

METRICS: dict[Task, tuple[str, ...]] = {
    Task.classification: ("roc_auc", "pr_auc", "log_loss", "brier", "f1", "precision", "recall", "accuracy"),
    Task.regression: ("rmse", "mae", "r2"),
}

PLOTS: dict[Task, tuple[str, ...]] = {
    Task.classification: ("roc", "pr", "calibration", "confusion_matrix", "feature_importance"),
    Task.regression: ("residuals", "feature_importance"),
}


def target_problem(target: object) -> str | None:
    """Why ``target`` may not be a ``_target_``, judged from the name alone (nothing is imported); None if it may."""
    expected = f"an estimator class of {' or '.join(ESTIMATOR_PACKAGES)} by its public path, e.g. sklearn.ensemble.ExtraTreesClassifier"
    if not isinstance(target, str) or "." not in target:
        return f"'{target}' is not allowed; expected {expected}"
    *modules, name = target.split(".")
    if modules[0] not in ESTIMATOR_PACKAGES:
        return f"'{target}' is not allowed: package '{modules[0]}'; expected {expected}"
    for module in modules[1:]:
        if not _MODULE.fullmatch(module):
            kind = "private module" if module.startswith("_") else "module name"
            return f"'{target}' is not allowed: {kind} '{module}'; expected {expected}"
    if not _CLASS.fullmatch(name):
        return f"'{target}' is not allowed: '{name}' is not a class name; expected {expected}"
    return None


def is_allowed_target(target: str) -> bool:
    """Whether a ``_target_`` may be instantiated, judged from its name (see :func:`target_problem`)."""
    return target_problem(target) is None
