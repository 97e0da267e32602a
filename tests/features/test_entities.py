"""Training tables over several entities: each view joins on its own entity's keys; request-time label
columns; static sources; ``include_current``; bounded materializations refuse instants outside them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from hydraops.config.schemas.data import (
    AggFunc,
    AggregationSpec,
    DataSpec,
    EntitySpec,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    FileFormat,
    LabelsSpec,
    SourceSpec,
)
from hydraops.errors import FeatureStoreError
from hydraops.features import FeatureRepo, get_historical_features, materialize
from hydraops.features.historical import build_training_table

from .reference import at, stamps, write_files

# Flights leave from an origin airport with an aircraft (tailnum); weather is per airport, aircraft are static.
FLIGHTS = pd.DataFrame(
    {
        "flight_id": pd.Series([1, 2, 3, 4, 5], dtype="int64"),
        "origin": ["JFK", "JFK", "LGA", "JFK", "LGA"],
        "tailnum": ["N1", "N2", "N1", "N1", "N3"],
        "dep": stamps([at(1), at(1.5), at(2), at(2), at(30)]),
        "distance": pd.Series([500.0, 700.0, 300.0, 900.0, 250.0]),
        "delay": pd.Series([5.0, 0.0, 12.0, 3.0, 1.0]),
    }
)
WEATHER = pd.DataFrame(
    {
        "origin": ["JFK", "LGA", "JFK", "LGA"],
        "ts": stamps([at(0), at(0), at(1.75), at(1.9)]),
        "temp": pd.Series([10.0, 11.0, 14.0, 15.0]),
    }
)
AIRCRAFT = pd.DataFrame({"tailnum": ["N1", "N2"], "seats": pd.Series([150, 200], dtype="int64")})


def flights_repo(tmp: Path, *, labels_features: list[str] = (), include_current: bool = False, aircraft_ttl: str | None = None) -> FeatureRepo:
    write_files(tmp / "data", {"flights.parquet": FLIGHTS, "weather.parquet": WEATHER, "aircraft.parquet": AIRCRAFT})
    data = DataSpec(
        format=FileFormat.parquet,
        dir=str(tmp / "data"),
        sources={
            "flights": SourceSpec(path="flights.parquet", timestamp="dep"),
            "weather": SourceSpec(path="weather.parquet", timestamp="ts"),
            "aircraft": SourceSpec(path="aircraft.parquet"),  # static: no timestamp
        },
    )
    features = FeaturesSpec(
        entities={"airport": EntitySpec(join_keys=["origin"]), "plane": EntitySpec(join_keys=["tailnum"])},
        views={
            "weather_now": FeatureViewSpec(entity="airport", source="weather", features={"temp": FeatureSpec(expr="temp")}),
            "plane": FeatureViewSpec(entity="plane", source="aircraft", ttl=aircraft_ttl, features={"seats": FeatureSpec(expr="seats")}),
            "departures": FeatureViewSpec(
                entity="airport",
                source="flights",
                include_current=include_current,
                aggregations=[AggregationSpec(column="delay", agg=[AggFunc.count, AggFunc.sum], windows=["2h"])],
            ),
            "plane_history": FeatureViewSpec(
                entity="plane",
                source="flights",
                include_current=include_current,
                aggregations=[AggregationSpec(column="delay", agg=[AggFunc.mean], windows=["1d"])],
            ),
        },
        labels=LabelsSpec(source="flights", entity="airport", timestamp="dep", target="delay", features=list(labels_features)),
    )
    return FeatureRepo(features=features, data=data, offline_dir=tmp / "offline")


def test_each_view_joins_on_its_own_entity_keys(tmp_path: Path) -> None:
    repo = flights_repo(tmp_path, labels_features=["distance"])
    materialize(repo)
    table = build_training_table(repo, str(tmp_path / "table.parquet"))
    frame = pd.read_parquet(table.path)
    assert list(frame.columns) == [
        *["origin", "tailnum", "dep", "delay", "distance"],
        *["temp", "seats", "delay_count_2h", "delay_sum_2h", "delay_mean_1d"],
    ]
    assert frame["temp"].tolist() == [10.0, 10.0, 15.0, 14.0, 15.0]  # the weather of each flight's origin, as of departure
    assert frame["seats"].tolist()[:4] == [150, 200, 150, 150] and pd.isna(frame["seats"][4])  # N3 is not in the table
    # departures of the same origin strictly before each flight (include_current: false), within 2 hours
    # (flights 1 and 3 are their origin's first: nothing visible yet, so missing and null, not 0)
    assert frame["delay_count_2h"].fillna(-1).tolist() == [-1, 1, -1, 2, 0]
    assert frame["delay_sum_2h"].fillna(-1).tolist() == [-1, 5.0, -1, 5.0, 0.0]
    # the same aircraft's earlier flights within a day, whatever their origin: N1 flew at 1h (JFK) and 2h (LGA),
    # so the flight of N1 at 2h from JFK sees the 1h one only
    assert pd.isna(frame["delay_mean_1d"][0]) and frame["delay_mean_1d"][2] == frame["delay_mean_1d"][3] == 5.0
    assert table.report["plane"].missing == 1 and table.report["departures"].missing == 2


def test_rows_for_online_lookup_carry_several_keys(tmp_path: Path) -> None:
    repo = flights_repo(tmp_path, include_current=True)
    materialize(repo)
    rows = pd.DataFrame({"origin": ["JFK", "LGA"], "tailnum": ["N2", "N1"], "t": stamps([at(2), at(2)])})
    frame = get_historical_features(repo, rows, timestamp_column="t", features=["temp", "seats", "delay_count_2h"]).frame
    assert frame[["temp", "seats", "delay_count_2h"]].values.tolist() == [[14.0, 200, 3], [15.0, 150, 1]]  # own row counts


def test_a_view_whose_keys_the_labels_lack_is_refused_naming_it(tmp_path: Path) -> None:
    repo = flights_repo(tmp_path)
    FLIGHTS.drop(columns="tailnum").to_parquet(tmp_path / "data" / "flights.parquet")
    with pytest.raises(FeatureStoreError, match="lack column 'tailnum', join key of entity 'plane'.*view 'plane'") as raised:
        build_training_table(repo, str(tmp_path / "table.parquet"))
    assert raised.value.column == "tailnum"


def test_a_static_source_is_valid_at_every_instant(tmp_path: Path) -> None:
    repo = flights_repo(tmp_path)
    materialize(repo, views=["plane"])
    rows = pd.DataFrame({"tailnum": ["N1", "N2"], "t": stamps([pd.Timestamp("1900-01-01", tz="UTC"), pd.Timestamp("2999-01-01", tz="UTC")])})
    result = get_historical_features(repo, rows, timestamp_column="t", features=["seats"])
    assert result.frame["seats"].tolist() == [150, 200] and (result.report["plane"].missing, result.report["plane"].expired) == (0, 0)


def test_config_refuses_a_ttl_or_windows_on_a_static_source(tmp_path: Path) -> None:
    from hydraops.config.checks import check_features

    repo = flights_repo(tmp_path, aircraft_ttl="1d")
    repo.features.views["plane"].aggregations.append(AggregationSpec(column="seats", agg=[AggFunc.sum], windows=["1d"]))
    spec = type("Spec", (), {"features": repo.features, "data": repo.data})()
    findings = dict(check_features(spec))
    assert "never expire" in findings["features.views.plane.ttl"]
    assert "time windows need one" in findings["features.views.plane.aggregations"]


def test_a_bounded_materialization_refuses_instants_outside_it(tmp_path: Path) -> None:
    repo = flights_repo(tmp_path)
    materialize(repo, end=datetime(2024, 3, 1, 3, tzinfo=UTC))  # before flight 5 (at 30h)
    with pytest.raises(
        FeatureStoreError,
        match=r"1 row\(s\) of the labels source 'flights' column 'dep' \(the first at 2024-03-02T06:00:00\+00:00\) fall outside the range feature view 'departures'",
    ):
        build_training_table(repo, str(tmp_path / "table.parquet"))
    rows = pd.DataFrame({"origin": ["JFK"], "t": stamps([at(3)])})  # exactly at the end: kept
    assert get_historical_features(repo, rows, timestamp_column="t", features=["temp", "delay_count_2h"]).frame["temp"].tolist() == [14.0]
    materialize(repo, start=datetime(2024, 3, 1, 1, tzinfo=UTC), force=True)
    with pytest.raises(FeatureStoreError, match="outside the range feature view 'weather_now' was materialized for"):
        get_historical_features(repo, pd.DataFrame({"origin": ["JFK"], "t": stamps([at(0.5)])}), timestamp_column="t", features=["temp"])
