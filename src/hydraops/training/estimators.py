"""Estimators from typed model specs (``model`` config group), and the one feature encoding they take.

* :func:`build_estimator` — an unfitted scikit-learn-compatible estimator. The class comes from
  ``MODELS[name].estimators[task]``; each spec's fields map to keyword arguments through one explicit
  function per model (``_PARAMS``). LightGBM takes categoricals natively (pandas ``category``); every
  scikit-learn model sits behind ``Pipeline(ColumnTransformer, estimator)`` built from ``model.preprocess``.
* :func:`category_levels` + :func:`prepare_features` — the only way a feature frame becomes model input.
  Levels are computed once on training data, stored with the model, and passed back at serving time, so
  training and serving encode every categorical identically (an unseen level becomes missing).

HistGradientBoosting follows ``model.preprocess`` like the other scikit-learn models: with
``one_hot: true`` categoricals are one-hot encoded; with ``one_hot: false`` they are ordinal-encoded and
declared categorical to the estimator, i.e. its native categorical splits (the better choice for trees,
and one a config can opt into without a special case here).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hydraops.config.names import INSTANTIATE_KEYS, MODELS, target_problem
from hydraops.config.schemas import DebugSpec, ModelSpec, PreprocessSpec, Task
from hydraops.training.split import TrainingError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_estimator", "category_levels", "prepare_features"]


def _rounds(value: int, debug: DebugSpec | None) -> int:
    """``debug.max_rounds`` caps boosting/ensemble rounds: ``n_estimators``, and ``max_iter`` where it counts
    boosting rounds (HistGradientBoosting) — not a solver's iterations (LogisticRegression), which would only
    stop it before convergence."""
    cap = debug.max_rounds if debug else None
    return min(value, cap) if cap else value


def _lightgbm(m: Any, debug: DebugSpec | None) -> dict[str, Any]:
    params = {
        "n_estimators": _rounds(m.n_estimators, debug), "learning_rate": m.learning_rate, "num_leaves": m.num_leaves,
        "max_depth": m.max_depth, "min_child_samples": m.min_child_samples, "subsample": m.subsample,
        "colsample_bytree": m.colsample_bytree, "reg_lambda": m.reg_lambda, "random_state": m.seed,
        "n_jobs": m.n_jobs, "verbose": -1,
    }  # fmt: skip
    if m.subsample < 1:
        params["subsample_freq"] = 1  # bagging only happens with a frequency
    if m.deterministic:
        params |= {"deterministic": True, "force_row_wise": True}  # bit-for-bit reproducible for a seed
    return params


def _logistic_regression(m: Any, debug: DebugSpec | None) -> dict[str, Any]:
    return {"C": m.C, "max_iter": m.max_iter, "class_weight": m.class_weight, "random_state": m.seed}


def _linear_regression(m: Any, debug: DebugSpec | None) -> dict[str, Any]:
    return {"alpha": m.alpha, "fit_intercept": m.fit_intercept}  # Ridge's default solver is not random


def _random_forest(m: Any, debug: DebugSpec | None) -> dict[str, Any]:
    return {
        "n_estimators": _rounds(m.n_estimators, debug), "max_depth": m.max_depth, "min_samples_leaf": m.min_samples_leaf,
        "max_features": m.max_features, "random_state": m.seed, "n_jobs": m.n_jobs,
    }  # fmt: skip


def _hist_gradient_boosting(m: Any, debug: DebugSpec | None) -> dict[str, Any]:
    return {
        "learning_rate": m.learning_rate, "max_iter": _rounds(m.max_iter, debug), "max_leaf_nodes": m.max_leaf_nodes,
        "l2_regularization": m.l2_regularization, "random_state": m.seed,
    }  # fmt: skip


_PARAMS: dict[str, Callable[[Any, DebugSpec | None], dict[str, Any]]] = {
    "lightgbm": _lightgbm,
    "logistic_regression": _logistic_regression,
    "linear_regression": _linear_regression,
    "random_forest": _random_forest,
    "hist_gradient_boosting": _hist_gradient_boosting,
}
#: Keyword arguments that come from a spec field of another name, for error messages.
_FIELD = {"random_state": "seed", "subsample_freq": "subsample", "force_row_wise": "deterministic"}


def build_estimator(model: ModelSpec, *, categorical: Sequence[str], debug: DebugSpec | None = None) -> Any:
    """An unfitted estimator for ``model``; ``categorical`` names the category-typed feature columns."""
    entry = MODELS.get(model.name)
    if entry is None:
        raise TrainingError(f"model.name: unknown model '{model.name}'; known: {', '.join(MODELS)}")
    if not isinstance(model, entry.spec):
        raise TrainingError(f"model: model.name={model.name} needs a {entry.spec.__name__}, found {type(model).__name__}")
    if model.name == "sklearn":
        estimator = _from_target(model, debug)
    else:
        path = entry.estimators.get(Task(model.task))
        if path is None:
            supported = ", ".join(str(task) for task in entry.estimators)
            raise TrainingError(f"model.task: model '{model.name}' supports {supported}, not {model.task}")
        module, _, name = path.partition(":")
        cls = getattr(importlib.import_module(module), name)
        params = _PARAMS[model.name](model, debug)
        if model.name == "hist_gradient_boosting" and categorical and not model.preprocess.one_hot:
            params["categorical_features"] = list(range(len(categorical)))  # encoded columns come first
        estimator = _construct(cls, params, {k: f"model.{_FIELD.get(k, k)}" for k in params})
    if model.name == "lightgbm":
        return estimator
    return _pipeline(estimator, categorical, model.preprocess)


def _from_target(model: Any, debug: DebugSpec | None) -> Any:
    """``model.estimator`` (``_target_`` + kwargs) → an estimator; every ``_target_`` in it must be an estimator
    class (checked on the imported object before anything is built), with keyword arguments only."""
    from hydra.utils import instantiate
    from sklearn.base import is_classifier, is_regressor

    spec = dict(model.estimator or {})
    target = spec.pop("_target_", None)
    if not target:
        raise TrainingError("model.estimator._target_: missing; name a scikit-learn estimator class")
    for key, node in _target_nodes({"_target_": target, **spec}, "model.estimator"):
        _estimator_class(node["_target_"], key)
        for special in INSTANTIATE_KEYS:
            if special in node:
                raise TrainingError(f"{key}.{special}: not allowed; an estimator is built from keyword arguments only")
    cls = _estimator_class(target, "model.estimator")
    kwargs = dict(spec)
    valid = _param_names(cls)
    defaults = {"random_state": model.seed, "n_jobs": model.n_jobs}
    kwargs |= {k: v for k, v in defaults.items() if k in valid and k not in kwargs}
    for key in ("n_estimators", "max_iter") if cls.__module__.startswith("sklearn.ensemble") else ("n_estimators",):
        if isinstance(kwargs.get(key), int):
            kwargs[key] = _rounds(kwargs[key], debug)
    _check_params(cls, kwargs, {k: f"model.estimator.{k}" for k in kwargs})
    try:
        estimator = instantiate({**kwargs, "_target_": target}, _convert_="all")
    except Exception as error:  # noqa: BLE001 - hydra wraps the constructor's error; report it under the config key
        raise TrainingError(f"model.estimator._target_: cannot build '{target}': {error}") from None
    kind, is_kind = {Task.classification: ("classifier", is_classifier), Task.regression: ("regressor", is_regressor)}[Task(model.task)]
    if not is_kind(estimator):
        raise TrainingError(f"model.task: '{target}' is not a {kind} (model.task={model.task})")
    return estimator


def _estimator_class(target: Any, key: str) -> type:
    """The class ``target`` names, if it is an estimator class: a public name (``target_problem``), importable,
    and a subclass of scikit-learn's ``BaseEstimator`` — not a function, not any other callable."""
    from sklearn.base import BaseEstimator

    problem = target_problem(target)
    if problem:
        raise TrainingError(f"{key}._target_: {problem}")
    module, _, name = str(target).rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise TrainingError(f"{key}._target_: cannot import '{target}'") from None
    if not (inspect.isclass(found) and issubclass(found, BaseEstimator)):
        raise TrainingError(f"{key}._target_: '{target}' is not allowed: not an estimator class (a subclass of sklearn.base.BaseEstimator)")
    return found


def _target_nodes(value: Any, key: str) -> list[tuple[str, Mapping[str, Any]]]:
    """Every mapping with a ``_target_`` under ``value`` (``value`` included), with its dotted config key."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(value, Mapping):
        if "_target_" in value:
            found.append((key, value))
        for k, v in value.items():
            found += _target_nodes(v, f"{key}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found += _target_nodes(v, f"{key}.{i}")
    return found


def _param_names(cls: type) -> list[str]:
    """What ``get_params()`` reports for ``cls`` (its signature's names when it cannot be built bare)."""
    try:
        return sorted(cls().get_params(deep=False))
    except Exception:  # noqa: BLE001 - any constructor that needs arguments
        parameters = inspect.signature(cls.__init__).parameters.items()
        return sorted(n for n, p in parameters if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def _check_params(cls: type, params: Mapping[str, Any], keys: Mapping[str, str]) -> None:
    """Refuse a keyword ``cls`` does not take (a class taking ``**kwargs``, like LightGBM's, takes any)."""
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values()):
        return
    valid = _param_names(cls)
    for name in params:
        if name not in valid:
            raise TrainingError(f"{keys[name]}: {cls.__name__} takes no parameter '{name}'; valid parameters: {', '.join(valid)}")


def _construct(cls: type, params: dict[str, Any], keys: Mapping[str, str]) -> Any:
    _check_params(cls, params, keys)
    try:
        return cls(**params)
    except TypeError as error:
        raise TrainingError(f"model: cannot build {cls.__name__} from {params}: {error}") from None


def _pipeline(estimator: Any, categorical: Sequence[str], preprocess: PreprocessSpec) -> Any:
    """``Pipeline(ColumnTransformer, estimator)``: categoricals first (one-hot or ordinal), then numerics."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = []
    if str(preprocess.impute) != "none":
        numeric.append(("impute", SimpleImputer(strategy=str(preprocess.impute), keep_empty_features=True)))
    if preprocess.scale:
        numeric.append(("scale", StandardScaler()))
    if preprocess.one_hot:
        encode = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    else:
        encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)
    transformers = []
    if categorical:
        impute = SimpleImputer(strategy="most_frequent", keep_empty_features=True)
        transformers.append(("categorical", Pipeline([("impute", impute), ("encode", encode)]), list(categorical)))
    columns = ColumnTransformer(transformers, remainder=Pipeline(numeric) if numeric else "passthrough", sparse_threshold=0.0)
    return Pipeline([("preprocess", columns), ("model", estimator)])


def category_levels(frame: pd.DataFrame, categorical: Sequence[str]) -> dict[str, list]:
    """The sorted distinct values of each categorical column (missing values left out): compute on train data."""
    import pandas as pd

    _require(frame, categorical)
    levels = {}
    for column in categorical:
        values = pd.Series(frame[column].dropna().unique()).tolist()
        levels[column] = sorted(values, key=lambda v: (type(v).__name__, v))
    return levels


def prepare_features(frame: pd.DataFrame, categorical: Mapping[str, list]) -> pd.DataFrame:
    """``frame`` as the estimator takes it: each column in ``categorical`` (from :func:`category_levels`) becomes
    a pandas ``category`` with exactly those levels (unseen values → missing); every other column must be
    numeric or boolean. Use it at fit *and* predict time with the same levels."""
    import pandas as pd

    if not isinstance(categorical, Mapping):
        raise TypeError("prepare_features takes the levels from category_levels(train, columns), not column names")
    _require(frame, list(categorical))
    out = frame.copy()
    for column, levels in categorical.items():
        known = frame[column].where(frame[column].isin(list(levels)))  # unseen levels → missing
        out[column] = pd.Categorical(known, categories=list(levels))
    for column in out.columns.difference(list(categorical), sort=False):
        dtype = out[column].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise TrainingError(f"feature '{column}' has dtype {dtype}: declare it categorical or make it numeric", column=str(column))
    return out


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TrainingError(f"categorical feature(s) {missing} not in the feature frame (columns: {', '.join(map(str, frame.columns))})")
