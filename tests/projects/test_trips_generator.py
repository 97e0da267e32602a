"""The trips example's generator (projects/trips/generate_data.py): deterministic, well-formed, honest in time."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "projects" / "trips" / "generate_data.py"
SMALL = {"zones": 6, "drivers": 30, "trips": 3000, "months": 2}


def _load_generator():
    spec = importlib.util.spec_from_file_location("trips_generate_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], dict[str, pd.DataFrame]]:
    out = tmp_path_factory.mktemp("trips")
    rows = gen.generate(out, seed=5, **SMALL)
    return out, rows, {name: pd.read_parquet(out / f"{name}.parquet") for name in gen.SCHEMAS}


def test_schemas_sizes_and_keys(data) -> None:
    out, rows, tables = data
    for name, schema in gen.SCHEMAS.items():
        assert pq.read_schema(out / f"{name}.parquet").remove_metadata() == schema
        assert rows[name] == len(tables[name])
    trips, conditions, drivers = tables["trips"], tables["zone_conditions"], tables["drivers"]
    assert 0.9 * SMALL["trips"] < len(trips) < 1.1 * SMALL["trips"]
    assert trips["trip_id"].is_unique and drivers["driver_id"].is_unique and len(drivers) == SMALL["drivers"]
    assert set(trips["driver_id"]) <= set(drivers["driver_id"])
    assert set(trips["pickup_zone"]) | set(trips["dropoff_zone"]) <= set(range(1, SMALL["zones"] + 1))
    start, end = pd.Timestamp("2025-11-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC")
    assert trips["pickup_ts"].between(start, end, inclusive="left").all()
    assert (trips["pickup_ts"].dt.microsecond == 0).all(), "whole seconds"
    assert len(conditions) == SMALL["zones"] * (end - start) // pd.Timedelta("1h")
    assert (trips[["distance_km", "fare", "duration_min"]] > 0).all().all() and trips["passengers"].between(1, 4).all()


def test_zone_conditions_are_published_5_to_90_minutes_after_their_hour(data) -> None:
    conditions = data[2]["zone_conditions"]
    delay = conditions["published_at"] - conditions["ts"]
    assert delay.between(pd.Timedelta("5min"), pd.Timedelta("90min")).all()
    assert (conditions["ts"].dt.minute == 0).all() and not conditions.duplicated(["pickup_zone", "ts"]).any()


def test_a_driver_takes_one_trip_at_a_time(data) -> None:
    trips = data[2]["trips"].sort_values(["driver_id", "pickup_ts"])
    dropoff = trips["pickup_ts"] + pd.to_timedelta(trips["duration_min"], unit="min")
    following = trips.groupby("driver_id")["pickup_ts"].shift(-1)
    assert not (following < dropoff).any()


def test_duration_follows_distance_and_equal_arguments_give_equal_files(data, tmp_path: Path) -> None:
    out, _, tables = data
    assert tables["trips"][["distance_km", "duration_min"]].corr().iloc[0, 1] > 0.7
    again = tmp_path / "again"
    gen.main(["--out", str(again), "--seed", "5", *(f"--{k}={v}" for k, v in SMALL.items())])
    for name in gen.SCHEMAS:
        digest = [hashlib.sha256((folder / f"{name}.parquet").read_bytes()).hexdigest() for folder in (out, again)]
        assert digest[0] == digest[1], name
