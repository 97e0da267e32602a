"""Drift statistics on profile bins: agreement with scipy's exact ones, the method chosen by type and size,
summaries counted chunk by chunk, dataset drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from hydraops.monitoring.drift import (
    PSI_BINS,
    DriftResult,
    DriftThresholds,
    Method,
    Sketch,
    column_drift,
    dataset_drift,
    normed_wasserstein,
    psi,
)
from hydraops.monitoring.profile import profile_column
from hydraops.testing.drift_data import DISTRIBUTIONS

CONTINUOUS = ("normal", "uniform", "exponential", "lognormal", "student_t", "bimodal")


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.mark.parametrize("name", CONTINUOUS)
@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5, 1.0])
def test_normed_wasserstein_is_within_001_std_of_scipy_on_the_raw_samples(name: str, shift: float, rng) -> None:
    draw, std = DISTRIBUTIONS[name]
    reference, current = draw(rng, 50_000), draw(rng, 20_000) + shift * std
    column = profile_column(pd.Series(reference, name=name))
    exact = wasserstein_distance(reference, current) / reference.std()
    assert normed_wasserstein(column, Sketch.of(column, pd.Series(current))) == pytest.approx(exact, abs=0.01)


def test_values_beyond_the_reference_range_count_exactly() -> None:
    column = profile_column(pd.Series(np.linspace(0.0, 1.0, 1001), name="x"))
    current = pd.Series(np.full(1000, 3.0))  # all 2 above the max: W1 to the uniform [0, 1] is 2.5
    exact = wasserstein_distance(np.linspace(0.0, 1.0, 1001), current)
    assert normed_wasserstein(column, Sketch.of(column, current)) * column.std == pytest.approx(exact, rel=1e-3)


def test_psi_is_the_textbook_sum_on_decile_bins(rng) -> None:
    reference, current = rng.normal(size=100_000), rng.normal(0.3, 1.2, 5_000)
    column = profile_column(pd.Series(reference, name="x"))
    edges = np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    ref = np.histogram(reference, edges)[0] / len(reference)
    cur = np.histogram(current, edges)[0] / len(current)
    textbook = np.sum((ref - cur) * np.log(ref / cur))
    assert psi(column, Sketch.of(column, pd.Series(current))) == pytest.approx(textbook, rel=0.02)


def test_jensen_shannon_is_scipys_on_the_category_shares() -> None:
    column = profile_column(pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20, name="c"))
    current = pd.Series(["a"] * 400 + ["b"] * 400 + ["c"] * 100 + ["new"] * 100)
    result = column_drift(column, current, DriftThresholds(small_sample=1))
    assert result.method is Method.jensenshannon
    assert result.statistic == pytest.approx(jensenshannon([0.5, 0.3, 0.2, 0.0], [0.4, 0.4, 0.1, 0.1]))
    sketch = Sketch.of(column, current)
    assert (sketch.unseen, sketch.unseen_examples, sketch.other) == (100, ["new"], 100)


@pytest.mark.parametrize(
    ("numeric", "n", "thresholds", "method"),
    [
        (True, 999, DriftThresholds(), Method.ks),
        (True, 1000, DriftThresholds(), Method.wasserstein),
        (True, 1000, DriftThresholds(numeric_method=Method.psi), Method.psi),
        (False, 999, DriftThresholds(), Method.chisquare),
        (False, 1000, DriftThresholds(), Method.jensenshannon),
        (False, 1000, DriftThresholds(categorical_method=Method.psi), Method.psi),
        (True, 4000, DriftThresholds(small_sample=5000), Method.ks),
    ],
)
def test_the_method_follows_type_and_size(numeric: bool, n: int, thresholds: DriftThresholds, method: Method, rng) -> None:
    values = pd.Series(rng.normal(size=n) if numeric else rng.choice(list("abc"), n), name="x")
    reference = profile_column(pd.Series(rng.normal(size=5000) if numeric else rng.choice(list("abc"), 5000), name="x"))
    result = column_drift(reference, values, thresholds)
    assert (result.method, result.n) == (method, n)
    expected = {Method.ks: 0.05, Method.chisquare: 0.05, Method.wasserstein: 0.1, Method.jensenshannon: 0.1, Method.psi: 0.1}
    assert result.threshold == expected[method]


def test_tests_flag_a_low_p_value_and_distances_a_high_distance(rng) -> None:
    reference = profile_column(pd.Series(rng.normal(size=20_000), name="x"))
    small = column_drift(reference, pd.Series(rng.normal(1.0, 1.0, 300)))
    assert small.method is Method.ks and small.statistic < 1e-6 and small.drifted
    same = column_drift(reference, pd.Series(rng.normal(size=300)))
    assert same.statistic > 0.01 and not same.drifted
    large = column_drift(reference, pd.Series(rng.normal(0.5, 1.0, 5000)))
    assert large.method is Method.wasserstein and large.statistic == pytest.approx(0.5, abs=0.05) and large.drifted


def test_chi_square_on_small_categorical_samples(rng) -> None:
    reference = profile_column(pd.Series(rng.choice(["x", "y", "z"], 10_000, p=[0.5, 0.3, 0.2]), name="c"))
    moved = column_drift(reference, pd.Series(rng.choice(["x", "y", "z"], 500, p=[0.2, 0.3, 0.5])))
    assert moved.method is Method.chisquare and moved.drifted
    assert not column_drift(reference, pd.Series(["x"] * 5 + ["y"] * 3 + ["z"] * 2)).drifted


def test_an_all_null_sample_is_not_drift() -> None:
    reference = profile_column(pd.Series(np.arange(100.0), name="x"))
    result = column_drift(reference, pd.Series([np.nan] * 10))
    assert result.n == 0 and not result.drifted


def test_text_for_a_numeric_reference_is_a_type_change_not_drift() -> None:
    reference = profile_column(pd.Series(np.arange(100.0), name="age"))
    sketch = Sketch.of(reference, pd.Series(["a", "b", None]))
    assert sketch.type_change in {"str", "object"} and sketch.n == 0 and sketch.nulls == 1
    assert not column_drift(reference, sketch).drifted


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=10, max_size=300), st.integers(1, 9), st.floats(-50, 50))
def test_a_sketch_counted_in_chunks_equals_one_counted_whole(values: list[float], parts: int, offset: float) -> None:
    reference = profile_column(pd.Series(values, name="x"), bins=10)
    current = pd.Series(values) + offset
    whole = Sketch.of(reference, current)
    chunked = Sketch.of(reference, *(current.iloc[i::parts] for i in range(parts)))
    assert (chunked.n, chunked.below, chunked.above, chunked.other) == (whole.n, whole.below, whole.above, whole.other)
    assert list(chunked.counts) == list(whole.counts) and sum(whole.counts) + whole.below + whole.above + whole.other == len(values)
    assert chunked.below_excess == pytest.approx(whole.below_excess) and chunked.above_excess == pytest.approx(whole.above_excess)


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200), st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=200)))
def test_a_sample_equal_to_the_reference_has_no_drift(values: list) -> None:
    reference = profile_column(pd.Series(values, name="x"))
    for method in (Method.wasserstein, Method.psi, Method.jensenshannon):
        numeric = Method.psi if method is Method.jensenshannon else method
        categorical = Method.psi if method is Method.wasserstein else method
        result = column_drift(reference, pd.Series(values), DriftThresholds(numeric_method=numeric, categorical_method=categorical, small_sample=1))
        assert result.statistic == pytest.approx(0.0, abs=1e-9) and not result.drifted
    small = column_drift(reference, pd.Series(values), DriftThresholds(small_sample=10_000))
    assert small.statistic == pytest.approx(1.0) and not small.drifted


def test_dataset_drift_is_the_share_of_drifted_columns() -> None:
    results = [DriftResult(name, Method.psi, 0.0, 0.1, drifted, 10) for name, drifted in zip("abcd", [True, True, False, False], strict=True)]
    drift = dataset_drift(results)
    assert (drift.share, drift.drifted_columns, drift.drifted) == (0.5, ("a", "b"), True)
    assert not dataset_drift(results, drift_share=0.75).drifted
    assert not dataset_drift([]).drifted
