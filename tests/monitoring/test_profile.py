"""Reference profiles: what each column kind holds, bounded size, and a JSON form that reads back equal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hydraops.errors import MonitoringError
from hydraops.monitoring.profile import (
    CATEGORICAL,
    FORMAT,
    MAX_CATEGORIES,
    NUMERIC,
    Profile,
    bin_counts,
    build_profile,
    category_key,
    profile_column,
)


def test_a_numeric_column_holds_quantile_bins_counts_and_moments() -> None:
    values = np.random.default_rng(0).normal(5.0, 2.0, 20_000)
    values[:100] = np.nan
    column = profile_column(pd.Series(values, name="x"))
    assert column.kind == NUMERIC and column.count == 19_900 and column.nulls == 100
    assert column.null_share == pytest.approx(0.005)
    assert column.edges[0] == column.min == np.nanmin(values) and column.edges[-1] == column.max == np.nanmax(values)
    assert sum(column.counts) == column.count and len(column.counts) == len(column.edges) - 1
    assert np.all(np.diff(column.edges) > 0)
    assert column.mean == pytest.approx(np.nanmean(values)) and column.std == pytest.approx(np.nanstd(values))
    quantiles = np.nanquantile(values, [0.1, 0.5, 0.9], method="inverted_cdf")
    assert set(quantiles) <= set(column.edges)  # equal-mass edges among the others


@pytest.mark.parametrize("draw", [lambda rng: rng.normal(0, 1, 20_000), lambda rng: rng.poisson(3, 20_000).astype(float)])
def test_bin_counts_are_each_values_bin(draw) -> None:
    rng = np.random.default_rng(5)
    edges = np.unique(np.quantile(draw(rng), np.linspace(0.05, 0.95, 12), method="inverted_cdf"))
    values = np.concatenate([draw(rng), edges, [np.nan]])  # ties on every edge; NaN counts nowhere
    below, counts, above = bin_counts(edges, values)
    finite = values[np.isfinite(values)]
    index = np.searchsorted(edges, finite, side="right") - 1  # [e_i, e_i+1), the last bin closed
    inside = (index >= 0) & (finite <= edges[-1])
    expected = np.bincount(np.minimum(index[inside], len(edges) - 2), minlength=len(edges) - 1)
    assert (below, above) == (int((finite < edges[0]).sum()), int((finite > edges[-1]).sum()))
    assert counts.tolist() == expected.tolist() and below + counts.sum() + above == len(finite)


def test_infinite_values_count_as_nulls() -> None:
    column = profile_column(pd.Series([1.0, 2.0, np.inf, -np.inf, np.nan, *range(10)], name="x"))
    assert column.nulls == 3 and column.count == 12


def test_integer_data_keeps_exact_bins() -> None:
    values = pd.Series(np.random.default_rng(1).poisson(4, 10_000), name="n")
    column = profile_column(values)
    assert column.kind == NUMERIC
    assert set(map(float, values.unique())) <= set(column.edges)  # every value starts a bin: none straddles two
    assert (column.min, column.max) == (values.min(), values.max())


def test_few_distinct_numbers_are_categories_as_evidently_treats_them() -> None:
    column = profile_column(pd.Series([0, 1, 1, 2, 2, 2, None], dtype="Int64", name="k"))
    assert column.kind == CATEGORICAL and column.categories == ("2", "1", "0") and column.counts == (3, 2, 1)
    assert column.nulls == 1 and (column.min, column.max) == (0.0, 2.0)


def test_categories_beyond_the_kept_ones_are_other() -> None:
    values = pd.Series([f"c{i}" for i in range(100) for _ in range(100 - i)], name="c")
    column = profile_column(values)
    assert column.kind == CATEGORICAL and len(column.categories) == MAX_CATEGORIES
    assert column.categories[:3] == ("c0", "c1", "c2") and column.other == sum(100 - i for i in range(MAX_CATEGORIES, 100))
    assert sum(column.counts) + column.other == column.count == len(values)


def test_booleans_and_numbers_have_stable_keys() -> None:
    assert [category_key(v) for v in (True, np.bool_(False), 3, np.int64(3), 3.0, 2.5, "x")] == ["True", "False", "3", "3", "3", "2.5", "x"]


def test_the_size_does_not_grow_with_the_rows() -> None:
    rng = np.random.default_rng(2)
    sizes = [len(build_profile(pd.DataFrame({"x": rng.normal(size=n), "c": rng.integers(0, 1000, n).astype(str)})).to_json()) for n in (10_000, 200_000)]
    assert sizes[1] < sizes[0] * 1.2


def test_a_profile_of_another_format_is_refused() -> None:
    text = build_profile(pd.DataFrame({"x": np.arange(10.0)})).to_json()
    body = json.loads(text)
    assert body["format"] == FORMAT
    body["format"] = FORMAT + 1
    with pytest.raises(MonitoringError, match=f"format {FORMAT + 1}"):
        Profile.from_json(json.dumps(body))


def test_an_unknown_column_names_the_known_ones() -> None:
    profile = build_profile(pd.DataFrame({"x": np.arange(10.0)}), pd.DataFrame({"prediction": np.linspace(0, 1, 10)}))
    assert profile.column("prediction").kind == NUMERIC
    with pytest.raises(MonitoringError, match="has: x, prediction") as caught:
        profile.column("y")
    assert caught.value.column == "y"


frames = st.integers(1, 60).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "f": st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), min_size=n, max_size=n),
            "i": st.lists(st.integers(-5, 50), min_size=n, max_size=n),
            "s": st.lists(st.one_of(st.sampled_from(["a", "b", "ç", "d e"]), st.none()), min_size=n, max_size=n),
            "b": st.lists(st.booleans(), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=60, deadline=None)
@given(frames, st.dictionaries(st.sampled_from(["roc_auc", "f1", "log_loss"]), st.floats(0, 1)))
def test_json_reads_back_equal(data: dict, metrics: dict) -> None:
    frame = pd.DataFrame(data)
    profile = build_profile(frame, frame[["f"]].rename(columns={"f": "prediction"}), metrics, bins=20, max_categories=3)
    assert Profile.from_json(profile.to_json()) == profile
    for name, column in profile.features.items():
        assert column.count + column.nulls == len(frame)
        assert sum(column.counts) + column.other == column.count, name
