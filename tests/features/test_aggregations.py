"""Aggregation views against the contract "The value of a feature at time t"
(docs/concepts/feature-store.md): f over the non-null values of c in the visible rows of k with
t - w < event timestamp <= t, compared with the brute-force reference on random data, plus examples."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hydraops.config.schemas.data import (
    AggFunc,
    AggregationSpec,
    DataSpec,
    EntitySpec,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    FileFormat,
    SourceSpec,
)
from hydraops.errors import DataError

from .reference import (
    Scenario,
    assert_result,
    at,
    in_source_order,
    reference_aggregations,
    reference_row_features,
    run_engine,
    scenarios,
    stamps,
    write_files,
)

ALL = [AggFunc.sum, AggFunc.count, AggFunc.mean, AggFunc.min, AggFunc.max, AggFunc.std]


def agg_view(windows: list[str], ttl: str | None = None, funcs: list[AggFunc] = ALL) -> FeatureViewSpec:
    return FeatureViewSpec(entity="user", source="events", ttl=ttl, aggregations=[AggregationSpec(column="amount", agg=list(funcs), windows=list(windows))])


def events(rows: list[tuple], created: bool = False) -> pd.DataFrame:
    """Rows (user_id, ts, amount[, created])."""
    frame = pd.DataFrame(
        {
            "user_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "ts": stamps([r[1] for r in rows]),
            "amount": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )
    if created:
        frame["created"] = stamps([r[3] for r in rows])
    return frame


def entities(rows: list[tuple[int, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "eid": pd.Series(range(len(rows)), dtype="int64"),
            "user_id": pd.Series([u for u, _ in rows], dtype="int64"),
            "t": stamps([t for _, t in rows]),
        }
    )


def sample_std(xs: list[float]) -> float:
    mean = sum(xs) / len(xs)
    return math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def values(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else (round(float(v), 9)) for v in frame[name].tolist()]


def check(tmp: Path, files, entity_df, view, *, created=None, expected=None, counts=None):
    """Engine == reference; optionally the reference == hand-computed values {feature: [per entity row]}."""
    ref = reference_aggregations(in_source_order(files), view, entity_df, join_keys=["user_id"], timestamp="ts", created_timestamp=created)
    for name, want in (expected or {}).items():
        assert values(ref.features, name) == want, name
    if counts is not None:
        assert (ref.missing, ref.expired) == counts
    result = run_engine(
        tmp, files, view, entity_df, join_keys=["user_id"], path=next(iter(files)) if len(files) == 1 else "e/*.parquet", created_timestamp=created
    )
    assert_result(result, ref, entity_df)
    return result


def test_feature_names_expand_in_declaration_order():
    spec = FeaturesSpec(views={"v": agg_view(["2h", "1d"], funcs=[AggFunc.sum, AggFunc.std])})
    assert spec.feature_names() == ["amount_sum_2h", "amount_sum_1d", "amount_std_2h", "amount_std_1d"]


# --- the reference on hand-computed examples ----------------------------------------------------------


def test_reference_window_edges_and_functions():
    files = {"e.parquet": events([(1, at(8), 100.0), (1, at(8, 1), 1.0), (1, at(9), 3.0), (1, at(10), None), (1, at(10), 5.0), (1, at(10, 1), 1000.0)])}
    ref = reference_aggregations(in_source_order(files), agg_view(["2h"]), entities([(1, at(10))]), join_keys=["user_id"], timestamp="ts")
    # window (8h, 10h]: 8h excluded, 8h + 1us included, 10h included (null skipped), 10h + 1us in the future
    assert values(ref.features, "amount_sum_2h") == [9.0]
    assert values(ref.features, "amount_count_2h") == [3]
    assert values(ref.features, "amount_mean_2h") == [3.0]
    assert values(ref.features, "amount_min_2h") == [1.0]
    assert values(ref.features, "amount_max_2h") == [5.0]
    assert values(ref.features, "amount_std_2h") == [2.0]
    assert (ref.missing, ref.expired) == (0, 0)


def test_reference_empty_windows_missing_and_expired():
    files = {"e.parquet": events([(1, at(0), 4.0), (2, at(0), None)])}
    entity_df = entities([(1, at(0)), (1, at(5)), (2, at(1)), (3, at(1)), (1, at(30))])
    ref = reference_aggregations(in_source_order(files), agg_view(["2h"], ttl="1d"), entity_df, join_keys=["user_id"], timestamp="ts")
    assert values(ref.features, "amount_sum_2h") == [4.0, 0.0, 0.0, None, None]
    assert values(ref.features, "amount_count_2h") == [1, 0, 0, None, None]
    assert values(ref.features, "amount_mean_2h") == [4.0, None, None, None, None]
    assert values(ref.features, "amount_std_2h") == [None, None, None, None, None]
    assert (ref.missing, ref.expired) == (1, 1)


# --- random data against the reference ----------------------------------------------------------------

WINDOWS = ["1h", "2h", "3h", "5h", "1d"]
TTLS = [None, "2h", "5h", "1d"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    scenarios(max_t_hour=40, ttls=TTLS, edges=WINDOWS + TTLS[1:]),
    st.lists(st.sampled_from(WINDOWS), min_size=2, max_size=3, unique=True),
    st.booleans(),
)
def test_engine_matches_reference_on_random_data(scenario: Scenario, windows: list[str], direct: bool):
    """Both ways of computing aggregates: RANGE frames over events and requests sorted together, and each
    request joined to its windows' rows directly (what sparse events get: aggregates.direct_join)."""
    from hydraops.features import aggregates

    view = agg_view(windows, scenario.ttl)
    ref = reference_aggregations(scenario.source, view, scenario.entity_df, join_keys=scenario.join_keys, timestamp="ts", created_timestamp=scenario.created)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregates, "DIRECT_EVENTS", 10**9 if direct else -1)
        result = run_engine(
            Path(tmp), scenario.files, view, scenario.entity_df, join_keys=scenario.join_keys, path=scenario.path, created_timestamp=scenario.created
        )
    assert_result(result, ref, scenario.entity_df)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios(max_t_hour=40, ttls=TTLS, edges=WINDOWS + TTLS[1:]), st.sampled_from(WINDOWS), st.booleans())
def test_include_current_false_is_the_value_just_before_t(scenario: Scenario, window: str, aggregate: bool):
    """``include_current: false`` gives, at t, exactly what the contract gives at t − 1 µs (row and aggregation views)."""
    from dataclasses import replace

    view = (
        agg_view([window], scenario.ttl)
        if aggregate
        else FeatureViewSpec(entity="user", source="events", ttl=scenario.ttl, features={"value": FeatureSpec(expr="value")})
    )
    before = scenario.entity_df.assign(t=scenario.entity_df["t"] - pd.Timedelta(microseconds=1))
    reference = reference_aggregations if aggregate else reference_row_features
    ref = reference(scenario.source, view, before, join_keys=scenario.join_keys, timestamp="ts", created_timestamp=scenario.created)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_engine(
            Path(tmp), scenario.files, replace(view, include_current=False), scenario.entity_df,
            join_keys=scenario.join_keys, path=scenario.path, created_timestamp=scenario.created,
        )  # fmt: skip
    assert_result(result, ref, scenario.entity_df)


# --- examples -----------------------------------------------------------------------------------------


def test_window_edges_exclude_t_minus_w_and_include_t(tmp_path):
    files = {
        "e.parquet": events(
            [(1, at(8), 100.0), (1, at(8, 1), 1.0), (1, at(9), 3.0), (1, at(10), None), (1, at(10), 5.0), (1, at(10, 1), 1000.0), (1, at(11), 7.0)]
        )
    }
    entity_df = entities([(1, at(10)), (1, at(10, 1)), (1, at(10, -1)), (1, at(8)), (1, at(11)), (1, at(12, 1))])
    check(
        tmp_path,
        files,
        entity_df,
        agg_view(["2h", "1d"]),
        expected={
            "amount_sum_2h": [9.0, 1008.0, 104.0, 100.0, 1012.0, 7.0],
            "amount_count_2h": [3, 3, 3, 1, 3, 1],
            "amount_sum_1d": [109.0, 1109.0, 104.0, 100.0, 1116.0, 1116.0],
            "amount_min_2h": [1.0, 3.0, 1.0, 100.0, 5.0, 7.0],
            "amount_max_2h": [5.0, 1000.0, 100.0, 100.0, 1000.0, 7.0],
            "amount_mean_2h": [3.0, 336.0, round(104 / 3, 9), 100.0, round(1012 / 3, 9), 7.0],
            "amount_std_2h": [2.0, round(sample_std([3, 5, 1000]), 9), round(sample_std([100, 1, 3]), 9), None, round(sample_std([5, 1000, 7]), 9), None],
        },
        counts=(0, 0),
    )


@pytest.mark.parametrize("direct", [True, False])
def test_a_ttl_equal_to_the_longest_window_keeps_an_event_exactly_that_old(tmp_path, direct):
    """TTL = longest window: an event at exactly t − 1d is out of the window but not expired (sums 0), one
    older is expired; with direct joins the feature timestamp comes from the joined rows, which reach t − 1d."""
    from hydraops.features import aggregates

    files = {"e.parquet": events([(1, at(0), 4.0), (2, at(0), 1.0), (2, at(10), 2.0)])}
    entity_df = entities([(1, at(24)), (1, at(24, 1)), (2, at(24)), (2, at(34, 1)), (3, at(24)), (1, at(0, -1))])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregates, "DIRECT_EVENTS", 10**9 if direct else -1)
        check(
            tmp_path,
            files,
            entity_df,
            agg_view(["2h", "1d"], ttl="1d", funcs=[AggFunc.sum, AggFunc.count]),
            expected={"amount_sum_1d": [0.0, None, 2.0, None, None, None], "amount_count_2h": [0, None, 0, None, None, None]},
            counts=(2, 2),
        )


def test_long_after_the_last_event_sums_are_zero_means_null_unless_expired(tmp_path):
    files = {"e.parquet": events([(1, at(0), 4.0), (1, at(1), 6.0), (2, at(0), 1.0)])}
    entity_df = entities([(1, at(1)), (1, at(20)), (1, at(25)), (1, at(49)), (1, at(49, 1)), (2, at(100)), (3, at(1))])
    result = check(
        tmp_path,
        files,
        entity_df,
        agg_view(["2h", "1d"], ttl="2d"),
        expected={
            "amount_sum_2h": [10.0, 0.0, 0.0, 0.0, None, None, None],
            "amount_count_2h": [2, 0, 0, 0, None, None, None],
            "amount_mean_2h": [5.0, None, None, None, None, None, None],
            "amount_sum_1d": [10.0, 10.0, 0.0, 0.0, None, None, None],
            "amount_count_1d": [2, 2, 0, 0, None, None, None],
            "amount_min_1d": [4.0, 4.0, None, None, None, None, None],
            "amount_std_1d": [round(math.sqrt(2), 9), round(math.sqrt(2), 9), None, None, None, None, None],
        },
        counts=(1, 2),
    )
    # the feature timestamp is the newest visible event at any age: at(49) is 48h after at(1), not expired
    assert result.frame["amount_count_2h"].isna().tolist() == [False, False, False, False, True, True, True]


def test_null_amounts_count_for_visibility_not_for_values(tmp_path):
    files = {"e.parquet": events([(1, at(0), None), (1, at(1), None), (1, at(2), 2.0)])}
    entity_df = entities([(1, at(0)), (1, at(1)), (1, at(2)), (1, at(2, -1)), (1, at(5))])
    check(
        tmp_path,
        files,
        entity_df,
        agg_view(["1h"], ttl="2h"),
        expected={
            "amount_sum_1h": [0.0, 0.0, 2.0, 0.0, None],
            "amount_count_1h": [0, 0, 1, 0, None],
            "amount_mean_1h": [None, None, 2.0, None, None],
            "amount_max_1h": [None, None, 2.0, None, None],
        },
        counts=(0, 1),
    )


def test_rows_known_after_t_are_not_aggregated(tmp_path):
    files = {
        "e.parquet": events(
            [
                (1, at(0), 1.0, at(0)),
                (1, at(1), 10.0, at(3)),  # happened at 1, known at 3
                (2, at(2), 5.0, at(3)),
                (1, at(2), 100.0, at(1)),  # known before it happened
            ],
            created=True,
        )
    }
    entity_df = entities([(1, at(1)), (1, at(2)), (1, at(3)), (2, at(2)), (2, at(3))])
    check(
        tmp_path,
        files,
        entity_df,
        agg_view(["2h", "1d"], ttl="1h"),
        created="created",
        expected={
            "amount_sum_2h": [1.0, 100.0, 100.0, None, 5.0],  # at(3): the row of 1 left the window (1, 3]
            "amount_count_1d": [1, 2, 3, None, 1],
            "amount_max_1d": [1.0, 100.0, 100.0, None, 5.0],
        },
        counts=(1, 0),
    )


def test_std_needs_two_values_and_is_sample_std(tmp_path):
    files = {"e.parquet": events([(1, at(0), 3.0), (1, at(1), 3.0), (1, at(2), 6.0), (1, at(3), None)])}
    entity_df = entities([(1, at(0)), (1, at(1)), (1, at(2)), (1, at(3)), (1, at(9))])
    check(
        tmp_path,
        files,
        entity_df,
        agg_view(["1h", "1d"], funcs=[AggFunc.std, AggFunc.count]),
        expected={
            "amount_std_1h": [None, None, None, None, None],
            "amount_std_1d": [None, 0.0, round(math.sqrt(3), 9), round(math.sqrt(3), 9), round(math.sqrt(3), 9)],
            "amount_count_1h": [1, 1, 1, 0, 0],
        },
        counts=(0, 0),
    )


def test_several_files_same_values_whatever_the_split(tmp_path):
    rows = [(1, at(h % 5), float(h)) for h in range(10)] + [(2, at(3), None)]
    files = {"e/b.parquet": events(rows[:4]), "e/a.parquet": events(rows[4:])}
    entity_df = entities([(u, at(h)) for u in (1, 2) for h in (4, 1, 3)])
    check(tmp_path, files, entity_df, agg_view(["2h", "3h"], ttl="2h"))


def test_two_views_on_one_source_each_report_their_own_counts(tmp_path):
    from hydraops.features import FeatureRepo, get_historical_features, materialize

    files = {"e.parquet": events([(1, at(0), 4.0), (1, at(3), None), (2, at(1), 2.0)])}
    write_files(tmp_path / "data", files)
    views = {
        "last": FeatureViewSpec(entity="user", source="events", ttl="1h", features={"last_amount": FeatureSpec(expr="amount")}),
        "sums": agg_view(["2h"], ttl="1d", funcs=[AggFunc.sum, AggFunc.count]),
    }
    repo = FeatureRepo(
        features=FeaturesSpec(entities={"user": EntitySpec(join_keys=["user_id"])}, views=views),
        data=DataSpec(format=FileFormat.parquet, dir=str(tmp_path / "data"), sources={"events": SourceSpec(path="e.parquet", timestamp="ts")}),
        offline_dir=tmp_path / "offline",
    )
    materialize(repo)
    entity_df = entities([(1, at(1)), (1, at(3)), (2, at(2, 1)), (3, at(1)), (1, at(30))])
    result = get_historical_features(repo, entity_df, timestamp_column="t")
    source = in_source_order(files)
    for name, view, reference in [("last", views["last"], reference_row_features), ("sums", views["sums"], reference_aggregations)]:
        ref = reference(source, view, entity_df, join_keys=["user_id"], timestamp="ts")
        assert_result(result, ref, entity_df, view_name=name)
    assert values(result.frame, "last_amount") == [4.0, None, None, None, None]
    assert values(result.frame, "amount_sum_2h") == [4.0, 0.0, 2.0, None, None]
    assert (result.report["last"].missing, result.report["last"].expired) == (1, 2)  # at(3): a null value, not expired
    assert (result.report["sums"].missing, result.report["sums"].expired) == (1, 1)


def test_a_null_created_timestamp_means_known_from_the_event_time(tmp_path):
    """Row-level and aggregation views agree: a row with no created timestamp is known at its event time."""
    import pandas as pd

    from hydraops.features import FeatureRepo, get_historical_features, materialize

    t0 = pd.Timestamp("2024-03-01", tz="UTC")
    events = pd.DataFrame({
        "user_id": [1, 1],
        "ts": [t0, t0 + pd.Timedelta(hours=1)],
        "created": [t0, pd.NaT],
        "amount": [1.0, 10.0],
    })  # fmt: skip
    events["created"] = events["created"].astype("datetime64[us, UTC]")
    events["ts"] = events["ts"].astype("datetime64[us, UTC]")
    events.to_parquet(tmp_path / "events.parquet")
    data = DataSpec(
        format=FileFormat.parquet, dir=str(tmp_path), sources={"events": SourceSpec(path="events.parquet", timestamp="ts", created_timestamp="created")}
    )
    features = FeaturesSpec(
        entities={"user": EntitySpec(join_keys=["user_id"])},
        views={
            "rows": FeatureViewSpec(entity="user", source="events", features={"last_amount": FeatureSpec(expr="amount")}),
            "sums": FeatureViewSpec(entity="user", source="events", aggregations=[AggregationSpec(column="amount", agg=[AggFunc.sum], windows=["1d"])]),
        },
    )  # fmt: skip
    repo = FeatureRepo(features=features, data=data, offline_dir=tmp_path / "store")
    materialize(repo)
    entity_df = pd.DataFrame({"user_id": [1], "t": [t0 + pd.Timedelta(hours=5)]})
    frame = get_historical_features(repo, entity_df, timestamp_column="t").frame
    assert frame.loc[0, "last_amount"] == 10.0
    assert frame.loc[0, "amount_sum_1d"] == 11.0


# --- `where`: only rows where the condition is true count toward that aggregation --------------------


def test_where_filters_its_aggregation_only(tmp_path):
    """A web-only 2h sum next to an unfiltered 1d sum and count: app rows and rows whose channel is null
    do not count toward the filtered aggregation, do count toward the other one, and keep the entity visible."""
    frame = events([(1, at(0), 1.0), (1, at(1), 10.0), (1, at(1), 100.0), (1, at(2), 1000.0), (2, at(0), 5.0)])
    frame["channel"] = pd.Series(["web", "app", "web", None, "app"], dtype="str")
    view = FeatureViewSpec(
        entity="user",
        source="events",
        aggregations=[
            AggregationSpec(column="amount", agg=[AggFunc.sum, AggFunc.mean], windows=["2h"], where="channel = 'web'"),
            AggregationSpec(column="amount", agg=[AggFunc.sum, AggFunc.count], windows=["1d"]),
        ],
    )
    check(
        tmp_path,
        {"e.parquet": frame},
        entities([(1, at(1)), (1, at(2)), (1, at(4)), (2, at(0))]),
        view,
        expected={
            "amount_sum_2h": [101.0, 100.0, 0.0, 0.0],
            "amount_mean_2h": [50.5, 100.0, None, None],
            "amount_sum_1d": [111.0, 1111.0, 1111.0, 5.0],
            "amount_count_1d": [3, 4, 4, 1],
        },
        counts=(0, 0),
    )


@pytest.mark.parametrize(("where", "problem"), [("channel = 'web'", "refers to 'channel'"), ("(SELECT 1)", "uses a subquery")])
def test_materialize_refuses_a_where_it_cannot_run_naming_its_key(tmp_path, where, problem):
    view = FeatureViewSpec(entity="user", source="events", aggregations=[AggregationSpec(column="amount", agg=[AggFunc.sum], windows=["1d"], where=where)])
    with pytest.raises(DataError, match=r"features\.views\.v\.aggregations\[0\]\.where") as raised:
        run_engine(tmp_path, {"e.parquet": events([(1, at(0), 1.0)])}, view, entities([(1, at(1))]), join_keys=["user_id"], path="e.parquet")
    assert problem in str(raised.value)


WHERES = ["label = 'x'", "value > 0", "label IN ('x', '') OR amount < 0", "coalesce(value, 0) = 0"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    scenarios(max_t_hour=40, ttls=TTLS, edges=WINDOWS + TTLS[1:]),
    st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=2, unique=True),
    st.sampled_from(WHERES),
)
def test_where_matches_reference_on_random_data(scenario: Scenario, windows: list[str], where: str):
    view = FeatureViewSpec(
        entity="user",
        source="events",
        ttl=scenario.ttl,
        aggregations=[
            AggregationSpec(column="amount", agg=ALL, windows=windows, where=where),
            AggregationSpec(column="value", agg=[AggFunc.sum, AggFunc.count], windows=windows),
        ],
    )
    ref = reference_aggregations(scenario.source, view, scenario.entity_df, join_keys=scenario.join_keys, timestamp="ts", created_timestamp=scenario.created)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_engine(
            Path(tmp), scenario.files, view, scenario.entity_df, join_keys=scenario.join_keys, path=scenario.path, created_timestamp=scenario.created
        )
    assert_result(result, ref, scenario.entity_df)


@pytest.mark.parametrize(
    "amounts",
    [
        [0.1, 0.2, 0.3, 1e-3, 12345.678, 1 / 3],  # fixed point: each amount × 2^k an integer, the sum exact
        [1e-300, 1e300, 0.1, 3.0],  # too many magnitudes for a HUGEINT: summed in ascending order
        [0.5, float("inf"), 2.0],  # not finite: summed in ascending order
        [0.0, 0.0, -0.0],  # only zeros
    ],
)
def test_sums_of_floats_give_the_same_bits_whatever_the_row_order(tmp_path, amounts):
    """The joined rows' sums are exact (fixed point) or ascending: any order of the source rows, the same bits."""
    from hydraops.features.events import _scale

    frames = []
    for order in (amounts, amounts[::-1], amounts[1::2] + amounts[::2]):
        files = {"e.parquet": events([(1, at(i % 3), a) for i, a in enumerate(order)])}
        result = run_engine(
            tmp_path / str(len(frames)),
            files,
            agg_view(["1d"], funcs=[AggFunc.sum, AggFunc.mean]),
            entities([(1, at(5))]),
            join_keys=["user_id"],
            path="e.parquet",
        )
        frames.append(result.frame)
    got = [float(f["amount_sum_1d"].iloc[0]).hex() for f in frames]
    assert len(set(got)) == 1
    assert math.isclose(float(frames[0]["amount_sum_1d"].iloc[0]), math.fsum(amounts), rel_tol=1e-12) or not math.isfinite(math.fsum(amounts))
    if amounts[0] != 0.0:
        assert (_scale(min(a for a in amounts if a), max(amounts), 6) is None) == (amounts[0] != 0.1)  # which way was tested


def test_the_fixed_point_scale_makes_every_value_an_integer_and_their_sum_fit_a_hugeint():
    from hydraops.features.events import _scale

    assert _scale(2.0**-30, 2.0**20, 1000) == 52 + 30  # 2^-30's last mantissa bit is 2^-82; 2^21 × 2^82 × 2^10 fits
    assert _scale(2.0**-30, 2.0**20, 2**40) is None  # 2^21 × 2^82 × 2^41 rows: past 2^126
    assert _scale(None, None, 5) == 0 and _scale(None, 0.0, 5) == 0


def test_a_hugeint_column_of_a_query_source_is_stored_and_summed_as_the_double_parquet_keeps(tmp_path):
    """Parquet has no 128-bit integers (DuckDB writes them as DOUBLE): the events say so from the start, so
    the manifest's summary (read from the source while the events are written) describes the stored events."""
    from hydraops.features import FeatureRepo, get_historical_features, materialize, offline

    files = {"e.parquet": events([(1, at(0), 2.0), (1, at(1), 3.0), (2, at(1), 4.0)])}
    write_files(tmp_path / "data", files)
    data = DataSpec(
        format=FileFormat.parquet,
        dir=str(tmp_path / "data"),
        sources={
            "raw": SourceSpec(path="e.parquet", timestamp="ts"),
            "events": SourceSpec(query="SELECT user_id, ts, amount::HUGEINT AS amount FROM raw", timestamp="ts"),
        },
    )
    features = FeaturesSpec(entities={"user": EntitySpec(join_keys=["user_id"])}, views={"v": agg_view(["1d"], funcs=[AggFunc.sum, AggFunc.mean])})
    repo = FeatureRepo(features=features, data=data, offline_dir=tmp_path / "offline")
    materialize(repo)
    manifest = offline.current_manifest(repo.offline_dir, "v")
    assert isinstance(manifest.scales["0"], int)  # a fixed-point scale for the stored doubles, not "int"
    frame = get_historical_features(repo, entities([(1, at(2)), (2, at(2))]), timestamp_column="t").frame
    assert values(frame, "amount_sum_1d") == [5.0, 4.0] and values(frame, "amount_mean_1d") == [2.5, 4.0]
