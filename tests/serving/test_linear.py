"""Exact explanations of linear scikit-learn models, built as training builds them (hydraops' pipeline: impute,
scale, one-hot or ordinal), fitted on seeded data: base + contributions = the raw prediction for any rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydraops.config.schemas import Task
from hydraops.config.schemas.training import LinearRegressionSpec, LogisticRegressionSpec, PreprocessSpec
from hydraops.serving.linear import background, explain_linear, is_linear, sources
from hydraops.training.estimators import build_estimator, prepare_features

LEVELS = {"plan": ["basic", "max", "pro"], "region": ["e", "n", "s", "w"]}
FEATURES = ["tenure", "plan", "spend", "region"]


def training_rows(count: int = 400, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "tenure": rng.integers(0, 2000, count).astype(float),
            "plan": rng.choice(LEVELS["plan"], count),
            "spend": np.where(rng.random(count) < 0.1, np.nan, rng.normal(80, 30, count)),
            "region": rng.choice(LEVELS["region"], count),
        }
    )
    score = (rows.tenure < 700) * 1.5 + (rows.plan == "pro") - 0.01 * rows.spend.fillna(80) + rng.normal(0, 0.5, count)
    return rows, np.asarray(score)


MODELS = {
    f"{kind}-{'onehot' if one_hot else 'ordinal'}-{impute}-{'scaled' if scale else 'raw'}": (kind, PreprocessSpec(impute=impute, scale=scale, one_hot=one_hot))
    for kind, one_hot, impute, scale in (
        ("logistic", True, "median", True),
        ("logistic", False, "mean", False),
        ("ridge", True, "most_frequent", False),
        ("ridge", False, "median", True),
    )  # fmt: skip
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request):
    kind, preprocess = MODELS[request.param]
    rows, score = training_rows()
    if kind == "logistic":
        spec = LogisticRegressionSpec(name="logistic_regression", task=Task.classification, seed=1, C=0.5, preprocess=preprocess)
        target = (score > np.median(score)).astype(int)
    else:
        spec = LinearRegressionSpec(name="linear_regression", task=Task.regression, seed=1, alpha=0.3, preprocess=preprocess)
        target = score
    prepared = prepare_features(rows, LEVELS)
    model = build_estimator(spec, categorical=list(LEVELS)).fit(prepared, target)
    return model, prepared, kind == "logistic"


def served_rows(draw_rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(draw_rows, columns=FEATURES)
    return prepare_features(frame.astype({"tenure": float, "spend": float}), LEVELS)


ROW = st.tuples(
    st.floats(-1e4, 1e5, allow_nan=False),
    st.sampled_from([*LEVELS["plan"], "gold", None]),  # an unseen level and a missing one too
    st.one_of(st.none(), st.floats(-1e3, 1e4, allow_nan=False)),
    st.sampled_from([*LEVELS["region"], None]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=20))
def test_base_plus_contributions_is_the_raw_prediction(fitted, rows) -> None:
    model, train, classification = fitted
    frame = served_rows(rows)
    base, contributions, raw = explain_linear(model, frame, FEATURES, background(model, train), classification)
    assert contributions.shape == (len(frame), len(FEATURES))
    expected = model.decision_function(frame) if classification else model.predict(frame)
    assert np.array_equal(raw, np.asarray(expected, dtype=float))
    assert np.max(np.abs(base + contributions.sum(axis=1) - raw)) <= 1e-9


def test_contributions_are_relative_to_the_mean_training_row(fitted) -> None:
    model, train, classification = fitted
    base, contributions, raw = explain_linear(model, train, FEATURES, background(model, train), classification)
    assert np.allclose(contributions.mean(axis=0), 0.0, atol=1e-9), "on average over the training rows each input adds nothing"
    assert base[0] == pytest.approx(raw.mean(), abs=1e-9), "the base is the mean raw prediction of the training rows"
    without = explain_linear(model, train, FEATURES, None, classification)  # a model trained before: base = intercept
    assert np.max(np.abs(without[0] + without[1].sum(axis=1) - raw)) <= 1e-9


def test_one_hot_columns_sum_back_into_their_feature(fitted) -> None:
    model, _, _ = fitted
    mapped = sources(model, FEATURES)
    widths = [mapped.count(i) for i in range(len(FEATURES))]
    one_hot = type(model[0].named_transformers_["categorical"][-1]).__name__ == "OneHotEncoder"
    assert widths == ([1, len(LEVELS["plan"]), 1, len(LEVELS["region"])] if one_hot else [1, 1, 1, 1])
    assert len(mapped) == model[-1].coef_.reshape(-1).shape[0]


def test_only_linear_models_are_linear() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge
    from sklearn.naive_bayes import GaussianNB

    x = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) % 7})
    y = (x.a > 14).astype(int)
    for model in (LogisticRegression(), LinearRegression(), Ridge(), Lasso(alpha=0.01)):
        assert is_linear(model.fit(x, y)), type(model).__name__
    assert not is_linear(RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)) and not is_linear(GaussianNB().fit(x, y))
    three = LogisticRegression().fit(x, x.b % 3)
    assert not is_linear(three), "a multi-class classifier has no single raw margin"
    assert background(GaussianNB().fit(x, y), x) is None


def test_a_bare_linear_model_is_explained_on_its_own_columns() -> None:
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"a": np.linspace(0, 5, 50), "b": np.cos(np.arange(50.0))})
    model = LogisticRegression().fit(x, (x.a + x.b > 2.5).astype(int))
    base, contributions, raw = explain_linear(model, x, ["a", "b"], background(model, x), True)
    assert np.allclose(contributions, (x.to_numpy() - x.to_numpy().mean(axis=0)) * model.coef_[0], rtol=0, atol=1e-12)
    assert np.max(np.abs(base + contributions.sum(axis=1) - raw)) <= 1e-9


def test_a_served_linear_model_explains_in_log_odds(tmp_path) -> None:
    """The Predictor of a bundle holding a one-hot logistic regression: explainable, additive, in log-odds."""
    import mlflow.sklearn

    from hydraops.serving.predictor import Predictor
    from hydraops.serving.spec import FeatureField, ModelRef, ServingSpec
    from hydraops.tracking.models import files_sha256

    rows, score = training_rows()
    prepared = prepare_features(rows, LEVELS)
    spec = LogisticRegressionSpec(name="logistic_regression", task=Task.classification, seed=1)
    model = build_estimator(spec, categorical=list(LEVELS)).fit(prepared, (score > 0).astype(int))
    from hydraops.tracking.models import _trusted

    mlflow.sklearn.save_model(
        model, str(tmp_path / "model"), serialization_format="skops", skops_trusted_types=_trusted(model), pip_requirements=["scikit-learn"]
    )
    ref = ModelRef("lin", "1", "run", "champion", "sklearn", files_sha256(tmp_path / "model"))
    serving = ServingSpec("p", ref, "classification", [FeatureField(n) for n in FEATURES], LEVELS, background=background(model, prepared))
    predictor = Predictor(serving, tmp_path / "model")
    assert predictor.explainable
    explained = predictor.explain(rows.head(25))
    assert explained.space == "raw margin (log-odds)"
    assert np.max(np.abs(explained.base + explained.contributions.sum(axis=1) - explained.raw)) <= 1e-9
    assert np.allclose(1 / (1 + np.exp(-explained.raw)), predictor.predict(rows.head(25)), rtol=0, atol=1e-12)
    assert dataclasses.replace(serving, background=[]).background == []


@pytest.mark.slow
def test_a_trained_logistic_regression_records_its_background_and_explains_its_training_rows(tmp_path) -> None:
    """`hydraops train model=logistic_regression` on the churn project (one-hot plan and region, scaled numerics):
    the run's model_inputs.json records the mean encoded training row, and the registered model explains the
    training table additively, each contribution averaging zero over it."""
    import json
    import subprocess

    from mlflow.tracking import MlflowClient

    from hydraops import load_spec
    from hydraops.serving.predictor import Predictor
    from hydraops.serving.spec import ServingSpec, registered
    from hydraops.tracking.model_load import verified_model
    from hydraops.training.split import split_table
    from tests.conftest import HYDRAOPS, generated_churn

    project = generated_churn(tmp_path / "churn", 300)
    done = subprocess.run([HYDRAOPS, "train", "debug=fast", "model=logistic_regression"], cwd=project, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    ref, inputs, tags = registered(client, "churn", "1", None)
    assert ref.flavor == "sklearn" and len(inputs["background"]) > len(inputs["features"]), "one-hot columns widen the encoded row"
    [table] = (project / "artifacts" / "offline_store" / "training_tables").glob("*.parquet")
    rows = pd.read_parquet(table)
    spec = load_spec(project, ["debug=fast"])
    sampled = rows.sample(n=spec.debug.max_rows, random_state=spec.seed).sort_index() if spec.debug.max_rows and len(rows) > spec.debug.max_rows else rows
    labels = spec.features.labels
    train = split_table(sampled, spec.split, time_column=labels.timestamp, target=labels.target, task=spec.model.task).train  # as training cut it
    with verified_model(client, "models:/churn/1", tags) as model:
        predictor = Predictor(ServingSpec.create(spec, ref, inputs), model.local)
        assert predictor.explainable and json.loads(predictor.spec.to_json())["background"] == inputs["background"]
        explained = predictor.explain(rows)
        assert np.abs(predictor.explain(train).contributions.mean(axis=0)).max() <= 1e-9, "relative to the mean training row"
        assert np.allclose(1 / (1 + np.exp(-explained.raw)), predictor.predict(rows), rtol=0, atol=1e-12)
    assert np.max(np.abs(explained.base + explained.contributions.sum(axis=1) - explained.raw)) <= 1e-9
