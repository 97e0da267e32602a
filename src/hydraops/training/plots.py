"""Evaluation plots as PNG files, drawn on the test part (the valid part when test is empty).

    saved = save_plots(model, evaluation, parts, spec, out_dir, feature_names=list(X.columns))
    saved["roc"]       # Path to roc.png
    saved.skipped      # plot name → why it was not drawn

Figures are plain ``matplotlib.figure.Figure`` objects on an Agg canvas: no display and no pyplot state,
so nothing is left open however many runs draw plots in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.config.names import PLOTS
from hydraops.config.schemas import EvaluateSpec, Task
from hydraops.training.evaluate import Evaluation, EvaluationError, target_array

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["SavedPlots", "feature_importance", "save_plots"]

TOP_FEATURES = 20


class SavedPlots(dict[str, Path]):
    """Plot name → PNG written; ``skipped`` holds each requested plot that was not drawn, with the reason."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: dict[str, str] = {}


def save_plots(
    model: Any,
    evaluation: Evaluation,
    parts: Mapping[str, tuple[pd.DataFrame, pd.Series]],
    spec: EvaluateSpec,
    out_dir: Path,
    *,
    feature_names: Sequence[str] | None = None,
) -> SavedPlots:
    """Write ``{out_dir}/{plot}.png`` for each plot in ``spec.plots``; returns what was written and skipped."""
    task = Task(spec.task)
    unknown = [name for name in spec.plots if name not in PLOTS[task]]
    if unknown:
        allowed = list(PLOTS[task])
        raise EvaluationError(f"evaluate.plots: unknown {task.value} plot(s) {unknown}; expected any of {allowed}")
    saved = SavedPlots()
    split = next((name for name in ("test", "valid") if len(parts.get(name, ((), ()))[0]) > 0), None)
    if split is not None and split not in evaluation.predictions:
        raise EvaluationError(f"evaluation has no predictions for split {split!r}: evaluate it first")
    drawers: dict[str, Callable[..., Figure]] = {
        "roc": _roc,
        "pr": _pr,
        "calibration": _calibration,
        "confusion_matrix": _confusion_matrix,
        "residuals": _residuals,
    }
    for name in spec.plots:
        try:
            if name == "feature_importance":
                figure = _feature_importance_plot(feature_importance(model, feature_names))
            elif split is None:
                raise EvaluationError("no rows in the test or valid part to draw it on")
            else:
                y = target_array(model, parts[split][1], task)
                figure = drawers[name](y, evaluation.predictions[split], spec.threshold, split)
        except EvaluationError as error:
            saved.skipped[name] = str(error)
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        saved[name] = out_dir / f"{name}.png"
        figure.savefig(saved[name], format="png")
    return saved


def feature_importance(model: Any, feature_names: Sequence[str] | None = None) -> pd.Series:
    """``feature_importances_`` or ``coef_`` of the final estimator, by feature name, largest magnitude first.

    A Pipeline is unwrapped (``steps[-1][1]``) and its names come from ``get_feature_names_out()`` of the
    steps before it (a ColumnTransformer gives ``num__age``, ``cat__region_north``...).
    """
    import numpy as np
    import pandas as pd

    estimator, names = model, list(feature_names) if feature_names is not None else None
    if hasattr(model, "steps"):
        estimator = model.steps[-1][1]
        try:
            names = list(model[:-1].get_feature_names_out(names))
        except (AttributeError, ValueError, TypeError):
            pass  # a step without feature names: keep the given names if they still fit
    if hasattr(estimator, "feature_importances_"):
        values = np.asarray(estimator.feature_importances_, dtype=float)
    elif hasattr(estimator, "coef_"):
        coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=float))
        values = coef[0] if coef.shape[0] == 1 else np.abs(coef).mean(axis=0)
    else:
        raise EvaluationError(f"{type(estimator).__name__} has neither feature_importances_ nor coef_")
    if names is None or len(names) != len(values):
        fitted = getattr(estimator, "feature_names_in_", None)
        fits = fitted is not None and len(fitted) == len(values)
        names = list(fitted) if fits else [f"feature_{i}" for i in range(len(values))]
    kind = "importance" if hasattr(estimator, "feature_importances_") else "coefficient"
    series = pd.Series(values, index=[str(name) for name in names], name=kind)
    return series.iloc[np.argsort(-np.abs(series.to_numpy()), kind="stable")]


def _figure(title: str, xlabel: str, ylabel: str, size: tuple[float, float] = (5.0, 4.0)) -> tuple[Figure, Any]:
    """A figure on an Agg canvas (never registered with pyplot) and its one axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return figure, axes


def _both_classes(y: np.ndarray, plot: str) -> None:
    if y.min() == y.max():
        raise EvaluationError(f"{plot} needs both classes; the part has only class {int(y[0])}")


def _roc(y: np.ndarray, scores: np.ndarray, threshold: float, split: str) -> Figure:
    from sklearn.metrics import roc_auc_score, roc_curve

    _both_classes(y, "roc")
    fpr, tpr, _ = roc_curve(y, scores)
    figure, axes = _figure(f"ROC ({split})", "false positive rate", "true positive rate")
    axes.plot(fpr, tpr, label=f"AUC = {roc_auc_score(y, scores):.3f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.legend(loc="lower right")
    return figure


def _pr(y: np.ndarray, scores: np.ndarray, threshold: float, split: str) -> Figure:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    _both_classes(y, "pr")
    precision, recall, _ = precision_recall_curve(y, scores)
    figure, axes = _figure(f"Precision-recall ({split})", "recall", "precision")
    axes.step(recall, precision, where="post", label=f"AP = {average_precision_score(y, scores):.3f}")
    axes.axhline(y.mean(), linestyle="--", color="grey", label="base rate")
    axes.legend(loc="lower left")
    return figure


def _calibration(y: np.ndarray, scores: np.ndarray, threshold: float, split: str) -> Figure:
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, scores, n_bins=10, strategy="uniform")
    figure, axes = _figure(f"Calibration ({split})", "mean predicted probability", "fraction of positives")
    axes.plot(predicted, observed, marker="o", label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axes.legend(loc="upper left")
    return figure


def _confusion_matrix(y: np.ndarray, scores: np.ndarray, threshold: float, split: str) -> Figure:
    import numpy as np
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y, (scores >= threshold).astype(int), labels=[0, 1])
    figure, axes = _figure(f"Confusion matrix at {threshold:g} ({split})", "predicted", "actual")
    axes.imshow(matrix, cmap="Blues")
    axes.set(xticks=[0, 1], yticks=[0, 1])
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(column, row, str(count), ha="center", va="center", color=colour)
    return figure


def _residuals(y: np.ndarray, predictions: np.ndarray, threshold: float, split: str) -> Figure:
    figure, axes = _figure(f"Residuals ({split})", "predicted", "actual - predicted")
    axes.scatter(predictions, y - predictions, s=8, alpha=0.5)
    axes.axhline(0.0, linestyle="--", color="grey")
    return figure


def _feature_importance_plot(importance: pd.Series) -> Figure:
    top = importance.iloc[:TOP_FEATURES].iloc[::-1]
    figure, axes = _figure(f"Feature {importance.name}", str(importance.name), "", (6.0, 1.5 + 0.3 * len(top)))
    axes.barh(list(top.index), top.to_numpy())
    return figure
