"""build_estimator for every model name and task, the feature encoding shared by training and serving, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydraops.config.names import MODELS, ModelEntry
from hydraops.config.schemas import (
    DebugSpec,
    LinearRegressionSpec,
    ModelSpec,
    PreprocessSpec,
    RandomForestSpec,
    Task,
)
from hydraops.training.estimators import build_estimator, category_levels, prepare_features
from hydraops.training.split import TrainingError

CLS, REG = Task.classification, Task.regression
SKLEARN_TARGETS = {CLS: "sklearn.ensemble.ExtraTreesClassifier", REG: "sklearn.ensemble.ExtraTreesRegressor"}


def frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({
        "amount": rng.normal(size=n),
        "tenure": rng.integers(0, 50, size=n).astype(float),
        "plan": rng.choice(["basic", "pro", "team"], size=n),
    })  # fmt: skip
    data.loc[::17, "amount"] = np.nan
    data.loc[::13, "plan"] = None
    data["label"] = ((data.amount.fillna(0) > 0) ^ (data.plan == "pro")).astype(int)
    data["value"] = data.amount.fillna(0) * 2 + (data.plan == "team") + rng.normal(scale=0.1, size=n)
    return data


def spec(name: str, task: Task = CLS, **fields) -> ModelSpec:
    if name == "sklearn":
        fields.setdefault("estimator", {"_target_": SKLEARN_TARGETS[task], "n_estimators": 20})
    fields.setdefault("min_child_samples", 5) if name == "lightgbm" else None
    return MODELS[name].spec(name=name, task=task, seed=7, **fields)


def fitted(model: ModelSpec, data: pd.DataFrame | None = None, debug: DebugSpec | None = None):
    data = frame() if data is None else data
    levels = category_levels(data, ["plan"])
    features = prepare_features(data[["amount", "tenure", "plan"]], levels)
    y = data["label" if model.task == CLS else "value"]
    return build_estimator(model, categorical=["plan"], debug=debug).fit(features, y), features


SUPPORTED = [(name, task) for name, entry in MODELS.items() for task in (entry.estimators or (CLS, REG))]


@pytest.mark.parametrize(("name", "task"), SUPPORTED, ids=[f"{n}-{t}" for n, t in SUPPORTED])
def test_every_model_builds_and_fits_with_a_categorical_column(name, task):
    estimator, features = fitted(spec(name, task), debug=DebugSpec(max_rounds=20))
    if task == CLS:
        probabilities = estimator.predict_proba(features)
        assert probabilities.shape == (len(features), 2)
        assert (estimator.predict(features) == frame().label).mean() > 0.7
    else:
        assert np.corrcoef(estimator.predict(features), frame().value)[0, 1] > 0.7


def test_every_model_name_is_covered():
    assert {name for name, _ in SUPPORTED} == set(MODELS)


def test_lightgbm_params_are_mapped_explicitly():
    model = spec("lightgbm", n_estimators=50, subsample=0.8, num_leaves=7, reg_lambda=1.5, n_jobs=2)
    params = build_estimator(model, categorical=["plan"]).get_params()
    assert params["subsample_freq"] == 1 and params["subsample"] == 0.8
    assert (params["random_state"], params["n_jobs"], params["verbose"]) == (7, 2, -1)
    assert (params["num_leaves"], params["reg_lambda"], params["n_estimators"]) == (7, 1.5, 50)
    assert params["deterministic"] is True and params["force_row_wise"] is True
    relaxed = build_estimator(spec("lightgbm", deterministic=False), categorical=[]).get_params()
    assert "deterministic" not in relaxed and relaxed["subsample_freq"] == 0


def test_lightgbm_takes_categoricals_natively():
    estimator, _ = fitted(spec("lightgbm"))
    assert type(estimator).__name__ == "LGBMClassifier"
    assert estimator.booster_.pandas_categorical == [["basic", "pro", "team"]]


def test_lightgbm_deterministic_is_bit_for_bit_reproducible():
    model = spec("lightgbm", n_estimators=30, subsample=0.7, colsample_bytree=0.7)
    first, features = fitted(model)
    second, _ = fitted(model)
    assert np.array_equal(first.predict_proba(features), second.predict_proba(features))
    assert first.booster_.model_to_string() == second.booster_.model_to_string()


def test_debug_caps_rounds():
    debug = DebugSpec(max_rounds=3)
    assert fitted(spec("lightgbm", n_estimators=100), debug=debug)[0].booster_.num_trees() == 3
    assert len(fitted(spec("random_forest", n_estimators=100), debug=debug)[0][-1].estimators_) == 3
    assert fitted(spec("hist_gradient_boosting", max_iter=100), debug=debug)[0][-1].n_iter_ == 3
    assert len(fitted(spec("sklearn"), debug=debug)[0][-1].estimators_) == 3
    # a solver's iterations are not rounds: capping them would only stop LogisticRegression short
    assert build_estimator(spec("logistic_regression"), categorical=[], debug=debug)[-1].max_iter == 1000
    assert build_estimator(spec("lightgbm", n_estimators=2), categorical=[], debug=debug).n_estimators == 2


def test_sklearn_models_get_the_declared_preprocessing():
    pipeline = build_estimator(spec("logistic_regression", C=0.5), categorical=["plan"])
    columns, model = pipeline.named_steps["preprocess"], pipeline.named_steps["model"]
    assert (model.C, model.random_state) == (0.5, 7)
    numeric = columns.remainder
    assert numeric.named_steps["impute"].strategy == "median" and "scale" in numeric.named_steps
    name, categorical, selected = columns.transformers[0]
    assert (name, selected) == ("categorical", ["plan"])
    assert categorical.named_steps["impute"].strategy == "most_frequent"
    assert categorical.named_steps["encode"].handle_unknown == "ignore"
    plain = build_estimator(spec("random_forest", preprocess=PreprocessSpec(impute="none", scale=False, one_hot=False)), categorical=[])
    assert plain.named_steps["preprocess"].remainder == "passthrough" and plain.named_steps["preprocess"].transformers == []
    mean = build_estimator(spec("linear_regression", REG, preprocess=PreprocessSpec(impute="mean")), categorical=[])
    assert mean.named_steps["preprocess"].remainder.named_steps["impute"].strategy == "mean"


def test_one_hot_false_gives_hist_gradient_boosting_native_categorical_splits():
    model = spec("hist_gradient_boosting", max_iter=20, preprocess=PreprocessSpec(one_hot=False, scale=False))
    estimator, features = fitted(model)
    assert estimator[-1].categorical_features == [0]
    assert estimator[-1].is_categorical_.tolist() == [True, False, False]
    assert estimator.predict_proba(features).shape == (len(features), 2)


def test_sklearn_target_gets_seed_and_n_jobs_unless_given():
    model = spec("sklearn", estimator={"_target_": SKLEARN_TARGETS[CLS], "n_estimators": 5, "random_state": 1})
    estimator = build_estimator(model, categorical=["plan"])[-1]
    assert (type(estimator).__name__, estimator.random_state, estimator.n_jobs) == ("ExtraTreesClassifier", 1, 1)


# ---- features -----------------------------------------------------------------------------------------------


def test_category_levels_are_sorted_and_leave_out_missing():
    data = pd.DataFrame({"plan": ["team", None, "basic", "pro", "basic"], "tier": [3, 1, 2, 1, np.nan]})
    assert category_levels(data, ["plan", "tier"]) == {"plan": ["basic", "pro", "team"], "tier": [1.0, 2.0, 3.0]}


def test_training_and_serving_encode_identically():
    train = frame()
    levels = category_levels(train, ["plan"])
    serving = pd.DataFrame({"amount": [0.1, 0.2, 0.3], "tenure": [1.0, 2.0, 3.0], "plan": ["team", "enterprise", "basic"]})
    encoded = prepare_features(serving, levels)
    assert list(encoded.plan.cat.categories) == ["basic", "pro", "team"]
    assert encoded.plan.cat.codes.tolist() == [2, -1, 0]  # an unseen level becomes missing
    one_row = prepare_features(serving.iloc[[2]], levels)  # a single request: same codes as in a batch
    assert one_row.plan.cat.codes.tolist() == [0]
    estimator, _ = fitted(spec("lightgbm"))
    batch = estimator.predict_proba(encoded)
    single = np.vstack([estimator.predict_proba(prepare_features(serving.iloc[[i]], levels)) for i in range(3)])
    assert np.array_equal(batch, single)


def test_prepare_features_refuses_what_would_diverge():
    data = frame()
    with pytest.raises(TypeError, match="levels from category_levels"):
        prepare_features(data, ["plan"])
    with pytest.raises(TrainingError, match=r"categorical feature\(s\) \['region'\] not in the feature frame"):
        prepare_features(data, {"region": ["north"]})
    with pytest.raises(TrainingError, match="feature 'plan' has dtype .*: declare it categorical or make it numeric"):
        prepare_features(data, {})


# ---- errors -------------------------------------------------------------------------------------------------


def test_unsupported_task_names_model_task():
    with pytest.raises(TrainingError, match=r"model\.task: model 'logistic_regression' supports classification, not regression"):
        build_estimator(spec("logistic_regression", REG), categorical=[])
    with pytest.raises(TrainingError, match=r"model\.task: model 'linear_regression' supports regression, not classification"):
        build_estimator(spec("linear_regression", CLS), categorical=[])
    with pytest.raises(TrainingError, match=r"model\.task: 'sklearn\.ensemble\.ExtraTreesClassifier' is not a regressor"):
        build_estimator(spec("sklearn", REG, estimator={"_target_": SKLEARN_TARGETS[CLS]}), categorical=[])


def test_unknown_parameter_names_the_key_and_lists_valid_ones():
    model = spec("sklearn", estimator={"_target_": SKLEARN_TARGETS[CLS], "n_trees": 10})
    with pytest.raises(
        TrainingError, match=r"model\.estimator\.n_trees: ExtraTreesClassifier takes no parameter 'n_trees'; valid parameters: .*bootstrap.*n_estimators"
    ):
        build_estimator(model, categorical=[])


def test_a_renamed_parameter_names_the_spec_field(monkeypatch):
    # as if a scikit-learn release dropped a keyword: LinearRegression takes neither alpha nor random_state
    monkeypatch.setitem(MODELS, "linear_regression", ModelEntry(LinearRegressionSpec, {REG: "sklearn.linear_model:LinearRegression"}))
    with pytest.raises(
        TrainingError, match=r"model\.alpha: LinearRegression takes no parameter 'alpha'; valid parameters: copy_X, fit_intercept, n_jobs, positive"
    ):
        build_estimator(spec("linear_regression", REG), categorical=[])


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        ({"_target_": "os.system", "command": "true"}, r"model\.estimator\._target_: 'os\.system' is not allowed"),
        (
            {"_target_": "sklearn.ensemble.BaggingClassifier", "estimator": {"_target_": "subprocess.Popen"}},
            r"model\.estimator\.estimator\._target_: 'subprocess\.Popen' is not allowed",
        ),
        ({"n_estimators": 3}, r"model\.estimator\._target_: missing"),
        ({"_target_": "sklearn.ensemble.NoSuchForest"}, r"model\.estimator\._target_: cannot import 'sklearn\.ensemble\.NoSuchForest'"),
    ],
)
def test_refused_targets_name_the_key(estimator, message):
    with pytest.raises(TrainingError, match=message):
        build_estimator(spec("sklearn", estimator=estimator), categorical=[])


def test_unknown_model_name_and_wrong_spec_type():
    with pytest.raises(TrainingError, match=r"model\.name: unknown model 'xgboost'; known: lightgbm"):
        build_estimator(ModelSpec(name="xgboost", seed=0), categorical=[])
    with pytest.raises(TrainingError, match=r"model: model\.name=lightgbm needs a LightGBMSpec, found RandomForestSpec"):
        build_estimator(RandomForestSpec(name="lightgbm", seed=0), categorical=[])
