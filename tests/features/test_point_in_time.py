"""Row-level feature views against the contract "The value of a feature at time t"
(docs/concepts/feature-store.md): random data compared with the brute-force reference, plus one example
per rule."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from hydraops.config.schemas.data import FeatureSpec, FeatureViewSpec
from hydraops.errors import HydraopsError

from .reference import (
    Scenario,
    assert_result,
    at,
    in_source_order,
    is_null,
    reference_row_features,
    run_engine,
    scenarios,
    stamps,
)

FEATURES = {
    "src_id": FeatureSpec(expr="src_id"),  # which source row the value came from
    "value": FeatureSpec(expr="value"),
    "label": FeatureSpec(expr="label"),
    "calc": FeatureSpec(expr="coalesce(value, 0) * 2 + src_id"),
}


def row_view(ttl: str | None = None, features: dict[str, FeatureSpec] | None = None) -> FeatureViewSpec:
    return FeatureViewSpec(entity="user", source="events", ttl=ttl, features=dict(features or FEATURES))


def events(rows: list[dict], created: bool = False) -> pd.DataFrame:
    """A source file: user_id, src_id, ts (and created), value, label."""
    frame = pd.DataFrame(
        {
            "user_id": pd.Series([r["user_id"] for r in rows], dtype="int64"),
            "src_id": pd.Series([r["src_id"] for r in rows], dtype="int64"),
            "ts": stamps([r["ts"] for r in rows]),
            "value": pd.Series([r.get("value", float(r["src_id"])) for r in rows], dtype="float64"),
            "label": pd.Series([r.get("label", f"row{r['src_id']}") for r in rows], dtype="str"),
        }
    )
    if created:
        frame.insert(3, "created", stamps([r["created"] for r in rows]))
    return frame


def entities(rows: list[tuple[int, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "eid": pd.Series(range(len(rows)), dtype="int64"),
            "user_id": pd.Series([u for u, _ in rows], dtype="int64"),
            "t": stamps([t for _, t in rows]),
        }
    )


def check(
    tmp: Path,
    files: dict[str, pd.DataFrame],
    entity_df: pd.DataFrame,
    *,
    path: str,
    created: str | None,
    ttl: str | None = None,
    expected_src: list[int | None] | None = None,
    counts: tuple[int, int] | None = None,
):
    """Engine == reference; optionally also == the hand-computed source rows and (missing, expired)."""
    view = row_view(ttl)
    ref = reference_row_features(in_source_order(files), view, entity_df, join_keys=["user_id"], timestamp="ts", created_timestamp=created)
    if expected_src is not None:  # the reference itself against the hand computation
        assert [None if is_null(v) else v for v in ref.features["src_id"]] == expected_src
    if counts is not None:
        assert (ref.missing, ref.expired) == counts
    result = run_engine(tmp, files, view, entity_df, join_keys=["user_id"], path=path, created_timestamp=created)
    assert_result(result, ref, entity_df)
    return result


# --- the reference on hand-computed examples ----------------------------------------------------------


def _ref(files, entity_df, created=None, ttl=None):
    return reference_row_features(in_source_order(files), row_view(ttl), entity_df, join_keys=["user_id"], timestamp="ts", created_timestamp=created)


def test_reference_latest_visible_row_and_exactly_t():
    files = {
        "e.parquet": events(
            [
                {"user_id": 1, "src_id": 0, "ts": at(1)},
                {"user_id": 1, "src_id": 1, "ts": at(3)},
                {"user_id": 2, "src_id": 2, "ts": at(2)},
            ]
        )
    }
    ref = _ref(files, entities([(1, at(0)), (1, at(1)), (1, at(3, -1)), (1, at(3)), (2, at(9)), (7, at(9))]))
    assert ref.chosen == [None, 0, 0, 1, 2, None]
    assert list(ref.features["label"]) == [None, "row0", "row0", "row1", "row2", None]
    assert list(ref.features["calc"]) == [None, 0.0, 0.0, 3.0, 6.0, None]
    assert (ref.missing, ref.expired) == (2, 0)


def test_reference_ties_created_then_source_order():
    a = events([{"user_id": 1, "src_id": 0, "ts": at(2), "created": at(3)}, {"user_id": 1, "src_id": 1, "ts": at(2), "created": at(3)}], created=True)
    b = events([{"user_id": 1, "src_id": 2, "ts": at(2), "created": at(3)}, {"user_id": 1, "src_id": 3, "ts": at(2), "created": at(1)}], created=True)
    files = {"e/b.parquet": b, "e/a.parquet": a}  # b written first; a comes first in name order
    ref = _ref(files, entities([(1, at(2)), (1, at(3)), (1, at(1))]), created="created")
    assert [None if c is None else int(in_source_order(files)["src_id"][c]) for c in ref.chosen] == [3, 2, None]
    no_created = {k: v.drop(columns="created") for k, v in files.items()}
    ref = _ref(no_created, entities([(1, at(2))]))
    assert list(ref.features["src_id"]) == [3]


def test_reference_ttl_boundary_and_created_after_t():
    files = {
        "e.parquet": events(
            [
                {"user_id": 1, "src_id": 0, "ts": at(0), "created": at(0)},
                {"user_id": 1, "src_id": 1, "ts": at(1), "created": at(5)},
            ],
            created=True,
        )
    }
    entity_df = entities([(1, at(2)), (1, at(2, 1)), (1, at(5)), (1, at(3, 1)), (1, at(-1))])
    ref = _ref(files, entity_df, created="created", ttl="2h")
    assert [None if is_null(v) else v for v in ref.features["src_id"]] == [0, None, None, None, None]
    assert (ref.missing, ref.expired) == (1, 3)  # at(5): the row of ts 1 is 4h old although known only at 5


# --- random data against the reference ----------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios(max_t_hour=12, ttls=[None, None, "1h", "2h", "3h"], edges=["1h", "2h", "3h"]))
def test_engine_matches_reference_on_random_data(scenario: Scenario):
    view = row_view(scenario.ttl)
    source = scenario.source
    ref = reference_row_features(source, view, scenario.entity_df, join_keys=scenario.join_keys, timestamp="ts", created_timestamp=scenario.created)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_engine(
            Path(tmp), scenario.files, view, scenario.entity_df, join_keys=scenario.join_keys, path=scenario.path, created_timestamp=scenario.created
        )
    assert_result(result, ref, scenario.entity_df)
    # never a value from the future, nor from another entity: check the source row each value came from
    by_id = source.set_index("src_id")
    for i, src in enumerate(result.frame["src_id"].tolist()):
        if is_null(src) or pd.isna(src):
            continue
        row, entity_row = by_id.loc[int(src)], scenario.entity_df.iloc[i]
        t = entity_row["t"]
        assert row["ts"] <= t, f"entity row {i}: value from source row {src} stamped {row['ts']} > t = {t}"
        if scenario.created:
            assert row["created"] <= t, f"entity row {i}: source row {src} known at {row['created']} > t = {t}"
        assert all(row[k] == entity_row[k] for k in scenario.join_keys), f"entity row {i}: another entity's row"


# --- one example per rule -----------------------------------------------------------------------------


def test_row_stamped_exactly_t_is_visible(tmp_path):
    files = {"e.parquet": events([{"user_id": 1, "src_id": 0, "ts": at(1)}, {"user_id": 1, "src_id": 1, "ts": at(3)}])}
    check(
        tmp_path,
        files,
        entities([(1, at(3)), (1, at(3, -1)), (1, at(1)), (1, at(1, -1))]),
        path="e.parquet",
        created=None,
        expected_src=[1, 0, 0, None],
        counts=(1, 0),
    )


def test_ties_go_to_greatest_created_then_last_in_source(tmp_path):
    a = events([{"user_id": 1, "src_id": 0, "ts": at(2), "created": at(3)}, {"user_id": 1, "src_id": 1, "ts": at(2), "created": at(3)}], created=True)
    b = events([{"user_id": 1, "src_id": 2, "ts": at(2), "created": at(3)}, {"user_id": 1, "src_id": 3, "ts": at(2), "created": at(1)}], created=True)
    files = {"e/b.parquet": b, "e/a.parquet": a}  # b written first; a comes first in name order
    check(
        tmp_path,
        files,
        entities([(1, at(2)), (1, at(3)), (1, at(9)), (1, at(1))]),
        path="e/*.parquet",
        created="created",
        expected_src=[3, 2, 2, None],
        counts=(1, 0),
    )


def test_ties_without_created_go_to_last_in_source(tmp_path):
    files = {
        "e/c.parquet": events([{"user_id": 1, "src_id": 0, "ts": at(2)}, {"user_id": 1, "src_id": 1, "ts": at(1)}]),
        "e/a.parquet": events([{"user_id": 1, "src_id": 2, "ts": at(2)}, {"user_id": 1, "src_id": 3, "ts": at(2)}]),
        "e/b.parquet": events([{"user_id": 1, "src_id": 4, "ts": at(2)}, {"user_id": 1, "src_id": 5, "ts": at(1)}]),
    }
    # name order a, b, c: the last row stamped 2 is src 0 (first row of c), the last stamped 1 is src 1
    check(tmp_path, files, entities([(1, at(2)), (1, at(1))]), path="e/*.parquet", created=None, expected_src=[0, 1], counts=(0, 0))


def test_ttl_boundary_exactly_ttl_old_is_valid(tmp_path):
    files = {"e.parquet": events([{"user_id": 1, "src_id": 0, "ts": at(0)}, {"user_id": 2, "src_id": 1, "ts": at(0)}])}
    entity_df = entities([(1, at(2)), (1, at(2, 1)), (2, at(2, -1)), (2, at(0)), (1, at(-1)), (1, at(30))])
    result = check(tmp_path, files, entity_df, path="e.parquet", created=None, ttl="2h", expected_src=[0, None, 1, 1, None, None], counts=(1, 2))
    assert result.frame["value"].isna().tolist() == [False, True, False, False, True, True]
    assert result.frame["label"].isna().tolist() == [False, True, False, False, True, True]


def test_ttl_counts_from_event_time_not_created_time(tmp_path):
    files = {"e.parquet": events([{"user_id": 1, "src_id": 0, "ts": at(0), "created": at(5)}], created=True)}
    check(
        tmp_path,
        files,
        entities([(1, at(5)), (1, at(4)), (1, at(2))]),
        path="e.parquet",
        created="created",
        ttl="2h",
        expected_src=[None, None, None],
        counts=(2, 1),
    )


def test_row_known_after_t_is_invisible(tmp_path):
    files = {
        "e.parquet": events(
            [
                {"user_id": 1, "src_id": 0, "ts": at(0), "created": at(0)},
                {"user_id": 1, "src_id": 1, "ts": at(1), "created": at(5)},  # happened at 1, known at 5
                {"user_id": 2, "src_id": 2, "ts": at(1), "created": at(5)},
                {"user_id": 1, "src_id": 3, "ts": at(2), "created": at(1)},  # known before it happened
            ],
            created=True,
        )
    }
    entity_df = entities([(1, at(1)), (1, at(2)), (1, at(5, -1)), (1, at(9)), (2, at(5, -1)), (2, at(5))])
    check(tmp_path, files, entity_df, path="e.parquet", created="created", expected_src=[0, 3, 3, 3, None, 2], counts=(1, 0))


def test_entities_without_rows_are_missing_and_rows_keep_their_order(tmp_path):
    files = {"e.parquet": events([{"user_id": 1, "src_id": 0, "ts": at(1)}, {"user_id": 2, "src_id": 1, "ts": at(2)}])}
    entity_df = entities([(3, at(5)), (2, at(9)), (1, at(9)), (2, at(9)), (1, at(0)), (3, at(1))])
    result = check(tmp_path, files, entity_df, path="e.parquet", created=None, expected_src=[None, 1, 0, 1, None, None], counts=(3, 0))
    assert list(result.frame["eid"]) == list(range(6))


def _tz_case(tmp_path: Path, source_tz: str | None, entity_tz: str | None):
    frame = events([{"user_id": 1, "src_id": 0, "ts": at(0)}, {"user_id": 1, "src_id": 1, "ts": at(10)}])
    frame = frame.rename(columns={"ts": "event_ts"})
    frame["event_ts"] = frame["event_ts"].dt.tz_convert(source_tz) if source_tz else frame["event_ts"].dt.tz_localize(None)
    times = stamps([at(5), at(10)])
    entity_df = pd.DataFrame({"eid": [0, 1], "user_id": [1, 1], "label_time": times.dt.tz_convert(entity_tz) if entity_tz else times.dt.tz_localize(None)})
    return frame, entity_df


@pytest.mark.parametrize(("source_tz", "entity_tz"), [("UTC", None), (None, "UTC"), ("Asia/Kolkata", None)])
def test_mixing_aware_and_naive_timestamps_is_an_error(tmp_path, source_tz, entity_tz):
    frame, entity_df = _tz_case(tmp_path, source_tz, entity_tz)
    before = entity_df.copy()
    with pytest.raises(HydraopsError) as error:
        run_engine(
            tmp_path, {"e.parquet": frame}, row_view(), entity_df, join_keys=["user_id"], path="e.parquet", timestamp="event_ts", timestamp_column="label_time"
        )
    message = str(error.value)
    # names the offending column: the naive entity column, or (naive source) either side of the comparison
    assert "label_time" in message or (entity_tz is not None and "event_ts" in message), message
    pd.testing.assert_frame_equal(entity_df, before)  # nothing shifted in place


@pytest.mark.parametrize(("source_tz", "entity_tz"), [("UTC", "America/New_York"), ("Asia/Kolkata", "UTC")])
def test_aware_timestamps_in_any_zone_are_the_same_instants(tmp_path, source_tz, entity_tz):
    frame, entity_df = _tz_case(tmp_path, source_tz, entity_tz)
    # at(10) is exactly the second row's instant, whatever zone either side is written in
    result = run_engine(
        tmp_path, {"e.parquet": frame}, row_view(), entity_df, join_keys=["user_id"], path="e.parquet", timestamp="event_ts", timestamp_column="label_time"
    )
    assert result.frame["src_id"].tolist() == [0, 1]
    assert list(result.frame["label_time"]) == list(entity_df["label_time"])
