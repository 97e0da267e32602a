"""evaluate(): metrics equal scikit-learn's, per-slice keys, undefined metrics skipped; save_plots(): valid PNGs."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as m
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from hydraops.config.names import METRICS, PLOTS
from hydraops.config.schemas import EvaluateSpec, Task
from hydraops.training.evaluate import EvaluationError, evaluate
from hydraops.training.plots import feature_importance, save_plots

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NUMERIC = ["x1", "x2", "x3"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _frame(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=NUMERIC)
    frame["region"] = rng.choice(["north", "south", "east"], size=rows)
    logit = 1.5 * frame.x1 - frame.x2 + 0.8 * (frame.region == "north")
    label = pd.Series((rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int), name="churned")
    amount = pd.Series(3 * frame.x1 + frame.x2**2 + rng.normal(scale=0.3, size=rows), name="amount")
    return frame, label, amount


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[pd.DataFrame, pd.Series, pd.Series]]:
    return {"train": _frame(400, 0), "valid": _frame(150, 1), "test": _frame(150, 2)}


def _parts(data, columns=NUMERIC, target: int = 1) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    return {split: (part[0][columns], part[target]) for split, part in data.items()}


@pytest.fixture(scope="module")
def logistic(data) -> LogisticRegression:
    frame, label, _ = data["train"]
    return LogisticRegression().fit(frame[NUMERIC], label)


@pytest.fixture(scope="module")
def pipeline(data) -> Pipeline:
    frame, label, _ = data["train"]
    columns = ColumnTransformer([("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(), ["region"])])
    return Pipeline([("prep", columns), ("model", LogisticRegression())]).fit(frame, label)


@pytest.fixture(scope="module")
def lgbm_regressor(data):
    from lightgbm import LGBMRegressor

    frame, _, amount = data["train"]
    return LGBMRegressor(n_estimators=30, verbose=-1, random_state=0).fit(frame[NUMERIC], amount)


def _classification(**fields) -> EvaluateSpec:
    fields.setdefault("metrics", list(METRICS[Task.classification]))
    return EvaluateSpec(task=Task.classification, primary_metric="roc_auc", **fields)


def _regression(**fields) -> EvaluateSpec:
    fields.setdefault("metrics", list(METRICS[Task.regression]))
    return EvaluateSpec(task=Task.regression, primary_metric="rmse", **fields)


def test_classification_metrics_equal_sklearn(data, logistic) -> None:
    evaluation = evaluate(logistic, _parts(data), _classification(threshold=0.4))
    for split, (frame, label, _) in data.items():
        p = logistic.predict_proba(frame[NUMERIC])[:, 1]
        hard = (p >= 0.4).astype(int)
        expected = {
            "roc_auc": m.roc_auc_score(label, p), "pr_auc": m.average_precision_score(label, p),
            "log_loss": m.log_loss(label, p), "brier": m.brier_score_loss(label, p),
            "f1": m.f1_score(label, hard), "precision": m.precision_score(label, hard),
            "recall": m.recall_score(label, hard), "accuracy": m.accuracy_score(label, hard),
        }  # fmt: skip
        for name, value in expected.items():
            assert evaluation.metric(split, name) == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(evaluation.predictions[split], p)
    assert evaluation.skipped == {}


def test_lgbm_classifier_and_regressor_metrics(data, lgbm_regressor) -> None:
    from lightgbm import LGBMClassifier

    frame, label, _ = data["train"]
    classifier = LGBMClassifier(n_estimators=30, verbose=-1, random_state=0).fit(frame[NUMERIC], label)
    evaluation = evaluate(classifier, _parts(data), _classification(metrics=["roc_auc"]))
    test_frame, test_label, test_amount = data["test"]
    p = classifier.predict_proba(test_frame[NUMERIC])[:, 1]
    assert evaluation.metric("test", "roc_auc") == pytest.approx(m.roc_auc_score(test_label, p))

    evaluation = evaluate(lgbm_regressor, _parts(data, target=2), _regression())
    predicted = lgbm_regressor.predict(test_frame[NUMERIC])
    assert evaluation.metric("test", "rmse") == pytest.approx(m.root_mean_squared_error(test_amount, predicted))
    assert evaluation.metric("test", "mae") == pytest.approx(m.mean_absolute_error(test_amount, predicted))
    assert evaluation.metric("test", "r2") == pytest.approx(m.r2_score(test_amount, predicted))


def test_only_requested_metrics_and_empty_parts_skipped(data, logistic) -> None:
    parts = _parts(data) | {"test": (data["test"][0][NUMERIC].iloc[:0], data["test"][1].iloc[:0])}
    evaluation = evaluate(logistic, parts, _classification(metrics=["roc_auc", "brier"]))
    assert set(evaluation.metrics) == {f"{s}.{n}" for s in ("train", "valid") for n in ("roc_auc", "brier")}
    assert "test" not in evaluation.predictions
    with pytest.raises(KeyError, match="no metric 'test.roc_auc'"):
        evaluation.metric("test", "roc_auc")


def test_slices_from_slice_frames_give_per_value_keys(data, logistic) -> None:
    frames = {split: frame[["region"]] for split, (frame, *_) in data.items()}
    spec = _classification(metrics=["roc_auc"], slices=["region"])
    evaluation = evaluate(logistic, _parts(data), spec, slice_frames=frames)
    frame, label, _ = data["test"]
    for region in ("north", "south", "east"):
        rows = (frame.region == region).to_numpy()
        p = logistic.predict_proba(frame[NUMERIC][rows])[:, 1]
        assert evaluation.metrics[f"test.region:{region}.roc_auc"] == pytest.approx(m.roc_auc_score(label[rows], p))
    assert len(evaluation.metrics) == 3 * (1 + 3)


def test_slice_column_taken_from_features(data, pipeline) -> None:
    evaluation = evaluate(pipeline, _parts(data, NUMERIC + ["region"]), _classification(slices=["region"]))
    assert {"valid.region:north.accuracy", "test.region:east.log_loss"} <= set(evaluation.metrics)


def test_one_class_slice_skips_roc_auc_with_reason(data, logistic) -> None:
    frame, label, _ = data["test"]
    segment = np.where(label == 0, np.where(np.arange(len(label)) % 2 == 0, "quiet", "mixed"), "mixed")
    spec = _classification(slices=["segment"])
    slices = {"test": pd.DataFrame({"segment": segment})}
    evaluation = evaluate(logistic, {"test": (frame[NUMERIC], label)}, spec, slice_frames=slices)
    assert "both classes" in evaluation.skipped["test.segment:quiet.roc_auc"]
    assert "positive" in evaluation.skipped["test.segment:quiet.recall"]
    assert "test.segment:quiet.roc_auc" not in evaluation.metrics
    assert "test.segment:quiet.log_loss" in evaluation.metrics and "test.segment:mixed.roc_auc" in evaluation.metrics
    assert all(math.isfinite(value) for value in evaluation.metrics.values())
    with pytest.raises(KeyError, match="skipped"):
        evaluation.metric("test.segment:quiet", "roc_auc")


def test_clear_errors(data, logistic) -> None:
    with pytest.raises(EvaluationError, match="unknown classification metric.*rmse"):
        evaluate(logistic, _parts(data), _classification(metrics=["rmse"]))
    with pytest.raises(EvaluationError, match="'plan' is neither a feature nor in slice_frames"):
        evaluate(logistic, _parts(data), _classification(slices=["plan"]))


def _assert_png(path: Path) -> None:
    assert path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 2000


def test_classification_plots_are_pngs_and_leave_no_figure(tmp_path, data, logistic) -> None:
    spec = _classification(plots=list(PLOTS[Task.classification]))
    evaluation = evaluate(logistic, _parts(data), spec)
    for run in range(3):  # many runs in one process leak nothing
        saved = save_plots(logistic, evaluation, _parts(data), spec, tmp_path / str(run), feature_names=NUMERIC)
        assert set(saved) == set(PLOTS[Task.classification]) and saved.skipped == {}
        for name, path in saved.items():
            assert path == tmp_path / str(run) / f"{name}.png"
            _assert_png(path)
    assert plt.get_fignums() == []


def test_only_requested_plots_and_fallback_to_valid(tmp_path, data, logistic) -> None:
    parts = _parts(data) | {"test": (data["test"][0][NUMERIC].iloc[:0], data["test"][1].iloc[:0])}
    spec = _classification(metrics=["roc_auc"], plots=["roc", "confusion_matrix"])
    saved = save_plots(logistic, evaluate(logistic, parts, spec), parts, spec, tmp_path, feature_names=NUMERIC)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["confusion_matrix.png", "roc.png"]
    assert set(saved) == {"roc", "confusion_matrix"}
    with pytest.raises(EvaluationError, match="unknown classification plot.*residuals"):
        save_plots(logistic, evaluate(logistic, parts, spec), parts, _classification(plots=["residuals"]), tmp_path)


def test_regression_plots(tmp_path, data, lgbm_regressor) -> None:
    spec = _regression(plots=list(PLOTS[Task.regression]))
    parts = _parts(data, target=2)
    evaluation = evaluate(lgbm_regressor, parts, spec)
    saved = save_plots(lgbm_regressor, evaluation, parts, spec, tmp_path, feature_names=NUMERIC)
    assert set(saved) == {"residuals", "feature_importance"}
    for path in saved.values():
        _assert_png(path)
    assert plt.get_fignums() == []


def test_pipeline_importance_has_one_hot_names(tmp_path, data, pipeline) -> None:
    importance = feature_importance(pipeline, NUMERIC + ["region"])
    one_hot = {f"cat__region_{region}" for region in ("east", "north", "south")}
    assert set(importance.index) == {f"num__{column}" for column in NUMERIC} | one_hot
    assert importance.index[0] == "num__x1"  # the strongest signal comes first
    spec = _classification(metrics=["roc_auc"], plots=["feature_importance"])
    columns = NUMERIC + ["region"]
    parts = _parts(data, columns)
    saved = save_plots(pipeline, evaluate(pipeline, parts, spec), parts, spec, tmp_path, feature_names=columns)
    _assert_png(saved["feature_importance"])


def test_estimator_without_importance_is_skipped_with_reason(tmp_path, data) -> None:
    frame, label, _ = data["train"]
    model = KNeighborsClassifier().fit(frame[NUMERIC], label)
    spec = _classification(metrics=["roc_auc"], plots=["roc", "feature_importance"])
    saved = save_plots(model, evaluate(model, _parts(data), spec), _parts(data), spec, tmp_path, feature_names=NUMERIC)
    assert set(saved) == {"roc"}
    assert "neither feature_importances_ nor coef_" in saved.skipped["feature_importance"]
    assert not (tmp_path / "feature_importance.png").exists()
