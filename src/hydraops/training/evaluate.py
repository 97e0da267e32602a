"""Metrics of a fitted model on each split, overall and per slice value.

    evaluation = evaluate(model, {"valid": (X_valid, y_valid), "test": (X_test, y_test)}, spec)
    evaluation.metric("test", "roc_auc")            # == evaluation.metrics["test.roc_auc"]
    evaluation.metrics["test.region=north.roc_auc"]  # one slice value

A metric that is undefined on a part (one class in a slice, no row predicted positive...) is left out of
``metrics`` and recorded with its reason in ``skipped`` under the same key: never a NaN, never a crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hydraops.config.names import METRICS
from hydraops.config.schemas import EvaluateSpec, Task
from hydraops.errors import EvaluationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Evaluation", "EvaluationError", "evaluate", "metric_value", "predict_scores", "target_array"]


@dataclass(frozen=True)
class Evaluation:
    """Metrics by ``"{split}.{metric}"`` / ``"{split}.{column}:{value}.{metric}"``, skipped ones with their
    reason under the same keys, and per split the scores (probability of the positive class, or predictions)."""

    metrics: dict[str, float]
    skipped: dict[str, str]
    predictions: dict[str, np.ndarray]

    def metric(self, split: str, name: str) -> float:
        """One overall metric of a split; a clear KeyError when it was skipped or never asked for."""
        key = f"{split}.{name}"
        if key in self.metrics:
            return self.metrics[key]
        if key in self.skipped:
            raise KeyError(f"metric {key!r} was skipped: {self.skipped[key]}")
        raise KeyError(f"no metric {key!r}; have: {', '.join(sorted(self.metrics)) or 'none'}")


def evaluate(
    model: Any,
    parts: Mapping[str, tuple[pd.DataFrame, pd.Series]],
    spec: EvaluateSpec,
    *,
    slice_frames: Mapping[str, pd.DataFrame] | None = None,
) -> Evaluation:
    """Score ``model`` on every non-empty part with the metrics in ``spec.metrics``, overall and per slice value."""
    task = Task(spec.task)
    unknown = [name for name in spec.metrics if name not in METRICS[task]]
    if unknown:
        raise EvaluationError(f"evaluate.metrics: unknown {task.value} metric(s) {unknown}; expected any of {list(METRICS[task])}")
    metrics: dict[str, float] = {}
    skipped: dict[str, str] = {}
    predictions: dict[str, np.ndarray] = {}
    for split, (features, y) in parts.items():
        if len(features) == 0:
            continue
        if len(features) != len(y):
            raise EvaluationError(f"split {split!r}: {len(features)} feature rows but {len(y)} target values")
        target, scores = target_array(model, y, task), predict_scores(model, features, task)
        predictions[split] = scores
        groups = [(split, None)]
        for column in spec.slices:
            values = _slice_values(column, split, features, slice_frames)
            groups += [(f"{split}.{column}:{label}", mask) for label, mask in _slice_masks(values)]
        for prefix, mask in groups:
            part_y, part_scores = (target, scores) if mask is None else (target[mask], scores[mask])
            for name in spec.metrics:
                key = f"{prefix}.{name}"
                value, reason = metric_value(name, part_y, part_scores, spec.threshold)
                if reason is None:
                    metrics[key] = value
                else:
                    skipped[key] = reason
    return Evaluation(metrics, skipped, predictions)


def predict_scores(model: Any, features: pd.DataFrame, task: Task) -> np.ndarray:
    """Probability of the positive class (binary classification) or the predictions (regression), as floats."""
    import numpy as np

    if Task(task) is Task.regression:
        return np.asarray(model.predict(features), dtype=float).reshape(-1)
    if not hasattr(model, "predict_proba"):
        raise EvaluationError(f"{type(model).__name__} has no predict_proba: classification needs probabilities")
    proba = np.asarray(model.predict_proba(features), dtype=float)
    if proba.ndim != 2 or proba.shape[1] != 2:
        raise EvaluationError(f"binary classification only: predict_proba gave shape {proba.shape}")
    return proba[:, 1]


def target_array(model: Any, y: pd.Series, task: Task) -> np.ndarray:
    """The target as floats (regression) or as 0/1 against the model's positive class ``classes_[1]``."""
    import numpy as np

    values = np.asarray(y)
    if Task(task) is Task.regression:
        return values.astype(float).reshape(-1)
    classes = list(getattr(model, "classes_", [0, 1]))
    strange = [value for value in np.unique(values) if value not in classes]
    if strange:
        raise EvaluationError(f"target has label(s) {strange[:5]} the model never saw; model classes: {classes}")
    return (values == classes[-1]).astype(int)


def _slice_values(column: str, split: str, features: pd.DataFrame, slice_frames: Mapping[str, pd.DataFrame] | None) -> np.ndarray:
    """The slice column for a split: from the features when there, else from ``slice_frames[split]``."""
    import numpy as np

    if column in getattr(features, "columns", ()):
        return np.asarray(features[column])
    frame = (slice_frames or {}).get(split)
    if frame is None or column not in frame.columns:
        raise EvaluationError(
            f"evaluate.slices: column {column!r} is neither a feature nor in slice_frames[{split!r}]",
            key="evaluate.slices",
            column=column,
        )
    if len(frame) != len(features):
        raise EvaluationError(f"slice_frames[{split!r}] has {len(frame)} rows, the features {len(features)}")
    return np.asarray(frame[column])


def _slice_masks(values: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """``(label, row mask)`` per distinct value in order of appearance; missing values are labelled ``missing``."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    for code, value in enumerate(uniques):
        label = "missing" if pd.isna(value) else re.sub(r"[^\w\-. /]", "_", str(value))  # MLflow's metric-name alphabet
        yield label, codes == code


def metric_value(name: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, str | None]:
    """``(value, None)``, or ``(nan, reason)`` when the metric is undefined on this part."""
    reason = _undefined(name, y, scores, threshold)
    if reason is None:
        try:
            value = float(_compute(name, y, scores, threshold))
        except ValueError as error:  # scikit-learn's way of saying "undefined here"
            reason = f"{name} could not be computed: {error}"
        else:
            if not math.isfinite(value):
                reason = f"{name} is not finite ({value})"
    return (math.nan, reason) if reason else (value, None)


def _undefined(name: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> str | None:
    """Why ``name`` has no meaning on these rows, or None."""
    rows = len(y)
    if name in {"rmse", "mae", "r2"}:
        if name == "r2" and rows < 2:
            return f"r2 needs at least 2 rows, this part has {rows}"
        if name == "r2" and (y == y[0]).all():
            return "r2 is undefined: the target is constant on this part"
        return None
    positives, predicted = int(y.sum()), int((scores >= threshold).sum())
    if name == "roc_auc" and positives in (0, rows):
        return f"roc_auc needs both classes; this part has only class {int(y[0])} ({rows} rows)"
    if name == "pr_auc" and positives == 0:
        return f"pr_auc needs at least one positive row; this part has none ({rows} rows)"
    if name == "recall" and positives == 0:
        return f"recall is undefined: no positive row in this part ({rows} rows)"
    if name == "precision" and predicted == 0:
        return f"precision is undefined: no row predicted positive at threshold {threshold}"
    if name == "f1" and positives == 0 and predicted == 0:
        return f"f1 is undefined: no positive row and none predicted positive at threshold {threshold}"
    return None


def _compute(name: str, y: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    """One metric with scikit-learn's function; labels at ``scores >= threshold`` where it needs labels."""
    from sklearn import metrics as m

    labels = (scores >= threshold).astype(int)
    functions = {
        "roc_auc": lambda: m.roc_auc_score(y, scores),
        "pr_auc": lambda: m.average_precision_score(y, scores),
        "log_loss": lambda: m.log_loss(y, scores, labels=[0, 1]),
        "brier": lambda: m.brier_score_loss(y, scores, pos_label=1),
        "f1": lambda: m.f1_score(y, labels, zero_division=0),
        "precision": lambda: m.precision_score(y, labels, zero_division=0),
        "recall": lambda: m.recall_score(y, labels, zero_division=0),
        "accuracy": lambda: m.accuracy_score(y, labels),
        "rmse": lambda: m.root_mean_squared_error(y, scores),
        "mae": lambda: m.mean_absolute_error(y, scores),
        "r2": lambda: m.r2_score(y, scores),
    }
    return functions[name]()
