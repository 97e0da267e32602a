"""The service's short path to a LightGBM model (``serving.matrix``): the matrix it builds is the one
LightGBM builds from ``prepare_features``' frame, and its predictions and explanations are the frame's bit
for bit, categorical codes included (unseen levels, nulls, values of another type)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from hydraops.serving.lookup import model_frame
from hydraops.serving.matrix import MatrixBuilder
from hydraops.serving.predictor import Inputs, Predictor
from hydraops.testing.bundles import TinyBundle, tiny_bundle

TENURES = [None, 0, 7, 599, 600, 1999, 2**40, True, 12.5]
PLANS = [None, "basic", "max", "pro", "Pro", "", "enterprise"]
AMOUNTS = [None, 0.0, 0.1, 12.34, 499.99, 1e-300, 7]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> TinyBundle:
    return tiny_bundle(tmp_path_factory.mktemp("matrix") / "bundle")


@pytest.fixture(scope="module")
def predictor(bundle: TinyBundle) -> Predictor:
    return Predictor(bundle.spec, bundle.folder / "model", threads=1)


def grid() -> list[dict]:
    return [{"tenure_days": t, "plan": p, "amount": a} for t, p, a in itertools.product(TENURES, PLANS, AMOUNTS)]


def test_the_matrix_is_lightgbms_own_from_the_prepared_frame(bundle, predictor) -> None:
    from lightgbm.basic import _data_from_pandas  # what Booster.predict does with a frame

    values = grid()
    inputs = predictor.inputs(values)
    assert isinstance(inputs.data, np.ndarray) and inputs.data.dtype == np.float64, "str values among str levels: no pandas"
    prepared = predictor.prepare(model_frame(bundle.spec, values))
    expected = _data_from_pandas(prepared, "auto", "auto", predictor.model.pandas_categorical)[0]
    assert np.array_equal(inputs.data, expected, equal_nan=True)


def test_predictions_and_explanations_equal_the_frames_bit_for_bit(bundle, predictor) -> None:
    values = grid()
    frame = model_frame(bundle.spec, values)
    inputs = predictor.inputs(values)
    assert np.array_equal(predictor.predict(inputs), predictor.predict(frame))
    fast, slow = predictor.explain(inputs), predictor.explain(frame)
    assert np.array_equal(fast.contributions, slow.contributions) and np.array_equal(fast.base, slow.base) and np.array_equal(fast.raw, slow.raw)
    assert np.abs(fast.base + fast.contributions.sum(axis=1) - fast.raw).max() <= 1e-9
    rows = bundle.frame.head(50).to_dict("records")  # training rows, one at a time as a service gets them
    one_by_one = np.concatenate([predictor.predict(predictor.inputs([row])) for row in rows])
    assert np.array_equal(one_by_one, predictor.predict(bundle.frame.head(50)))


@pytest.mark.parametrize("plan", [1, 1.0, True, float("nan")])
def test_a_value_of_another_type_than_the_levels_takes_pandas_path(bundle, predictor, plan) -> None:
    values = [{"tenure_days": 10, "plan": plan, "amount": 1.0}, {"tenure_days": 10, "plan": "pro", "amount": 1.0}]
    inputs = predictor.inputs(values)
    assert not isinstance(inputs.data, np.ndarray), "decided by pandas, not guessed"
    assert np.array_equal(predictor.predict(inputs), predictor.predict(model_frame(bundle.spec, values)))


def test_integer_levels_map_by_position_and_unseen_integers_are_missing() -> None:
    import lightgbm
    import pandas as pd

    from hydraops.training.estimators import prepare_features

    levels = {"region": [30, 10, 20]}  # codes by position in the training levels, not by value
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"region": rng.choice(levels["region"], 400), "x": rng.normal(0, 1, 400)})
    target = (frame["region"].eq(10) ^ (frame["x"] > 0.5)).astype(int)
    booster = lightgbm.LGBMClassifier(n_estimators=15, num_leaves=5, min_child_samples=5, verbose=-1).fit(prepare_features(frame, levels), target).booster_
    spec = SimpleNamespace(feature_names=["region", "x"], categories=levels)  # the two fields the builder reads
    builder = MatrixBuilder.for_booster(spec, booster)
    values = [{"region": r, "x": x} for r in (None, 10, 20, 30, 40) for x in (None, -1.0, 0.7)]
    matrix = builder.build(values)
    np.testing.assert_array_equal(matrix[::3, 0], [np.nan, 1.0, 2.0, 0.0, np.nan])  # None, 10, 20, 30, unseen 40
    given = pd.DataFrame({"region": pd.Series([v["region"] for v in values], dtype=object), "x": [v["x"] for v in values]})
    prepared = prepare_features(given.astype({"x": float}), levels)
    assert np.array_equal(booster.predict(matrix), booster.predict(prepared))
    assert builder.build([{"region": 10.0, "x": 1.0}]) is None, "a float among integer levels: pandas decides"
    booster.pandas_categorical = [[10, 20, 30]]  # levels recorded in another order than the spec's
    assert MatrixBuilder.for_booster(spec, booster) is None


def test_inputs_of_a_served_row_feed_both_the_prediction_and_the_explanation(predictor) -> None:
    inputs = predictor.inputs([{"tenure_days": 120, "plan": "pro", "amount": 10.0}])
    assert isinstance(inputs, Inputs) and inputs.data.shape == (1, 3)
    explained = predictor.explain(inputs)
    assert explained.contributions.shape == (1, 3) and abs(explained.base[0] + explained.contributions.sum() - explained.raw[0]) <= 1e-9


def test_explanations_are_pred_contribs_where_no_tables_are_made(bundle) -> None:
    with_tables = Predictor(bundle.spec, bundle.folder / "model", threads=1)
    without = Predictor(bundle.spec, bundle.folder / "model", threads=1)
    without.__dict__["shap_tables"] = None  # as for a model over the tables' budget
    assert with_tables.shap_tables is not None
    inputs = with_tables.inputs(grid())
    tables, lightgbm = with_tables.explain(inputs), without.explain(inputs)
    assert np.array_equal(tables.raw, lightgbm.raw) and np.array_equal(tables.base, lightgbm.base)
    assert np.abs(tables.contributions - lightgbm.contributions).max() <= 1e-12
    assert np.array_equal(lightgbm.contributions, without.model.predict(inputs.data, pred_contrib=True)[:, :-1])
