"""The TreeSHAP tables give LightGBM's own ``pred_contrib`` on random models: missing values (NaN as missing,
zero as missing, none seen in training), categorical splits with unseen, negative and fractional codes,
regression and classification; a frame gives what LightGBM makes of it."""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydraops.serving.matrix import frame_matrix
from hydraops.serving.treeshap import tables_for


def _data(seed: int, rows: int, nan_share: float, zero_share: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    x[:, 3] = rng.integers(0, 7, rows)  # a categorical feature's codes
    x[rng.random(x.shape) < zero_share] = 0.0
    x[rng.random(x.shape) < nan_share] = np.nan
    signal = np.nan_to_num(x[:, 0]) - np.nan_to_num(x[:, 1]) * np.nan_to_num(x[:, 2]) + np.isin(x[:, 3], [2, 5])
    return x, signal + rng.normal(scale=0.5, size=rows)


def _probe(x: np.ndarray, seed: int) -> np.ndarray:
    """Rows to explain: training rows and values no training row had (unseen, negative, fractional codes; NaN; ±0; tiny)."""
    rng = np.random.default_rng(seed + 1)
    probe = x[:60].copy()
    probe[:8, 3] = [-1, 9, 2.7, -0.5, 1e9, np.nan, 0.0, 6]
    probe[8:14, 0] = [np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e300]
    probe[14:20] = rng.normal(size=(6, 5)) * 10
    return probe


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    trees=st.integers(1, 25),
    leaves=st.sampled_from([2, 4, 15, 31]),
    classification=st.booleans(),
    nan_share=st.sampled_from([0.0, 0.1]),
    zero_share=st.sampled_from([0.0, 0.2]),
    zero_as_missing=st.booleans(),
    categorical=st.booleans(),
)
def test_the_tables_give_pred_contrib(seed, trees, leaves, classification, nan_share, zero_share, zero_as_missing, categorical) -> None:
    x, signal = _data(seed, 400, nan_share, zero_share)
    target = (signal > 0).astype(int) if classification else signal
    params = {"objective": "binary" if classification else "regression", "num_leaves": leaves, "min_data_in_leaf": 5,
              "zero_as_missing": zero_as_missing, "verbose": -1, "seed": seed, "cat_smooth": 1, "min_data_per_group": 5}  # fmt: skip
    dataset = lightgbm.Dataset(x, target, categorical_feature=[3] if categorical else [], free_raw_data=False)
    booster = lightgbm.train(params, dataset, trees)
    tables = tables_for(booster)
    probe = _probe(x, seed)
    expected = booster.predict(probe, pred_contrib=True)
    got, raw = tables(probe)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-9 * max(1.0, np.max(np.abs(expected)))
    assert np.array_equal(raw, booster.predict(probe, raw_score=True)), "the raw score is LightGBM's bit for bit"
    assert np.max(np.abs(got.sum(axis=1) - raw)) <= 1e-9 * max(1.0, np.max(np.abs(raw)))


def test_a_model_without_splits_has_only_its_base() -> None:
    x, signal = _data(0, 50, 0.0, 0.0)
    booster = lightgbm.train({"objective": "regression", "min_data_in_leaf": 1000, "verbose": -1}, lightgbm.Dataset(x, signal), 3)
    got, raw = tables_for(booster)(x[:3])
    assert np.array_equal(got, booster.predict(x[:3], pred_contrib=True)) and np.array_equal(raw, booster.predict(x[:3], raw_score=True))


def test_tables_over_the_budget_or_several_outputs_are_not_made() -> None:
    x, signal = _data(1, 300, 0.0, 0.0)
    booster = lightgbm.train({"objective": "regression", "verbose": -1}, lightgbm.Dataset(x, signal), 5)
    assert tables_for(booster, budget=10) is None and tables_for(booster) is not None
    forest = lightgbm.train({"boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.5, "verbose": -1}, lightgbm.Dataset(x, signal), 3)
    assert tables_for(forest) is None, "a random forest averages its trees"
    classes = np.digitize(signal, [-1, 1])
    multiclass = lightgbm.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lightgbm.Dataset(x, classes), 3)
    assert tables_for(multiclass) is None


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "Int64", "bool"])
def test_a_frame_becomes_the_matrix_lightgbm_makes_of_it(dtype) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2, 200) if dtype in ("bool", "int64", "Int64") else rng.normal(size=200).round(3) + 1 / 3
    frame = pd.DataFrame({"a": pd.array(values).astype(dtype), "b": pd.Categorical(rng.choice(["x", "y", "z", None], 200), categories=["x", "y", "z"])})
    if dtype == "Int64":
        frame.loc[::7, "a"] = pd.NA
    target = rng.normal(size=200) + (frame["b"] == "y")
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "min_data_in_leaf": 5}, lightgbm.Dataset(frame, target), 10)
    assert np.array_equal(booster.predict(frame_matrix(frame)), booster.predict(frame))
    assert np.max(np.abs(tables_for(booster)(frame_matrix(frame))[0] - booster.predict(frame, pred_contrib=True))) <= 1e-9
