"""Schemas of the groups that say how a model is trained: split, model, evaluate, hparams_search, debug."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omegaconf import II, MISSING


class SplitMethod(StrEnum):
    time = "time"
    random = "random"


class Task(StrEnum):
    classification = "classification"
    regression = "regression"


class Impute(StrEnum):
    median = "median"
    mean = "mean"
    most_frequent = "most_frequent"
    none = "none"


class Direction(StrEnum):
    maximize = "maximize"
    minimize = "minimize"


@dataclass
class SplitSpec:
    """How the training table is cut into train/valid/test."""

    method: SplitMethod = MISSING
    column: str | None = None
    valid_fraction: float = 0.15
    test_fraction: float = 0.15
    gap: str = "0d"
    stratify: bool = True
    seed: int = II("seed")


@dataclass
class PreprocessSpec:
    impute: Impute = Impute.median
    scale: bool = True
    one_hot: bool = True


@dataclass
class ModelSpec:
    """Fields every estimator has; each option of the ``model`` group extends it."""

    name: str = MISSING
    task: Task = Task.classification
    features: list[str] = field(default_factory=list)
    seed: int = II("seed")
    n_jobs: int = 1


@dataclass
class LightGBMSpec(ModelSpec):
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    max_depth: int = -1
    min_child_samples: int = 20
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    reg_lambda: float = 0.0
    deterministic: bool = True


@dataclass
class LogisticRegressionSpec(ModelSpec):
    C: float = 1.0
    max_iter: int = 1000
    class_weight: str | None = None
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)


@dataclass
class LinearRegressionSpec(ModelSpec):
    alpha: float = 0.0
    fit_intercept: bool = True
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)


@dataclass
class RandomForestSpec(ModelSpec):
    n_estimators: int = 300
    max_depth: int | None = None
    min_samples_leaf: int = 1
    max_features: str = "sqrt"
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)


@dataclass
class HistGradientBoostingSpec(ModelSpec):
    learning_rate: float = 0.1
    max_iter: int = 200
    max_leaf_nodes: int = 31
    l2_regularization: float = 0.0
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)


@dataclass
class SklearnEstimatorSpec(ModelSpec):
    """Any scikit-learn estimator by ``_target_`` (allow-listed) with its keyword arguments."""

    estimator: dict[str, Any] = MISSING
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)


@dataclass
class EvaluateSpec:
    task: Task = MISSING
    primary_metric: str = MISSING
    metrics: list[str] = MISSING
    threshold: float = 0.5
    slices: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)


@dataclass
class HparamsSearchSpec:
    """What a sweep optimises; the swept values live in ``hydra.sweeper.params``."""

    metric: str = MISSING
    direction: Direction = Direction.maximize


@dataclass
class DebugSpec:
    """Small data and few rounds, for tests and CI."""

    max_rows: int | None = None
    max_rounds: int | None = None
