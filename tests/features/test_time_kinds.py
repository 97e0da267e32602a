"""Time is never silently shifted: naive feature timestamps joined onto aware labels (or the reverse) are an
error naming both columns, on every path that builds a point-in-time join (CLI and API)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from hydraops import load_spec
from hydraops.errors import DataError, FeatureStoreError
from hydraops.features import FeatureRepo, get_historical_features, materialize
from tests.conftest import Run, generated_churn

pytestmark = pytest.mark.slow

END = datetime(2026, 1, 1, tzinfo=UTC)


def rewrite_timestamps(path: Path, column: str, *, aware: bool) -> None:
    """Rewrite ``column`` of a parquet file: naive local (Paris) wall-clock times, or aware UTC instants."""
    frame = pd.read_parquet(path)
    times = frame[column]
    if aware:
        frame[column] = times.dt.tz_localize("UTC") if times.dt.tz is None else times.dt.tz_convert("UTC")
    else:
        frame[column] = (times.dt.tz_localize("UTC") if times.dt.tz is None else times).dt.tz_convert("Europe/Paris").dt.tz_localize(None)
    frame.to_parquet(path, index=False)


@pytest.fixture(scope="module")
def naive_tickets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn project with naive local-time ticket timestamps and aware (UTC) labels, materialized."""
    project = generated_churn(tmp_path_factory.mktemp("time") / "churn", 150)
    rewrite_timestamps(project / "data" / "tickets.parquet", "ts", aware=False)
    rewrite_timestamps(project / "data" / "labels.parquet", "label_time", aware=True)
    materialize(FeatureRepo.from_spec(load_spec(project)), end=END)
    return project


def test_training_table_refuses_naive_features_on_aware_labels(naive_tickets: Path, hydraops: Run) -> None:
    out = naive_tickets / "train.parquet"
    result = hydraops("features", "training-table", f"out={out}", cwd=naive_tickets)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join((result.stdout + result.stderr).split())  # the error panel wraps lines
    assert "labels source 'labels' column 'label_time' is timezone-aware" in message, message
    assert "view 'support_activity' has naive timestamps (source 'tickets' column 'ts')" in message, message
    assert "data.sources.<source>.timezone" in message and "Traceback" not in message
    assert not out.exists()


def test_api_refuses_the_same_mix_naming_both_columns(naive_tickets: Path) -> None:
    repo = FeatureRepo.from_spec(load_spec(naive_tickets))
    labels = pd.read_parquet(naive_tickets / "data" / "labels.parquet")
    with pytest.raises(
        FeatureStoreError, match=r"entity rows column 'label_time' is timezone-aware but view 'support_activity' has naive .*'tickets' column 'ts'"
    ):
        get_historical_features(repo, labels, timestamp_column="label_time")
    # features of the aware views alone still join
    joined = get_historical_features(repo, labels, timestamp_column="label_time", features=["age", "amount_sum_30d"])
    assert len(joined.frame) == len(labels)


def test_naive_labels_on_aware_features_are_refused_too(naive_tickets: Path, hydraops: Run, tmp_path: Path) -> None:
    import shutil

    project = tmp_path / "churn"
    shutil.copytree(naive_tickets, project)
    rewrite_timestamps(project / "data" / "labels.parquet", "label_time", aware=False)
    result = hydraops("features", "training-table", f"out={project / 'train.parquet'}", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join((result.stdout + result.stderr).split())
    assert "labels source 'labels' column 'label_time' is naive but view 'customer_profile' has timezone-aware" in message, message


def test_a_declared_time_zone_makes_naive_timestamps_instants(tmp_path: Path) -> None:
    """Naive local times with ``timezone: America/New_York`` are read as instants there: 09:00 local is 14:00 UTC."""
    from hydraops.config.schemas.data import DataSpec, EntitySpec, FeatureSpec, FeaturesSpec, FeatureViewSpec, FileFormat, SourceSpec

    (tmp_path / "data").mkdir()
    weather = pd.DataFrame({"origin": ["JFK", "JFK"], "ts": pd.to_datetime(["2013-01-10 09:00", "2013-01-10 10:00"]), "temp": [1.0, 2.0]})
    weather.to_parquet(tmp_path / "data" / "weather.parquet")

    def repo(zone: str | None) -> FeatureRepo:
        data = DataSpec(
            format=FileFormat.parquet, dir=str(tmp_path / "data"), sources={"weather": SourceSpec(path="weather.parquet", timestamp="ts", timezone=zone)}
        )
        views = {"w": FeatureViewSpec(entity="airport", source="weather", features={"temp": FeatureSpec(expr="temp")})}
        return FeatureRepo(FeaturesSpec(entities={"airport": EntitySpec(join_keys=["origin"])}, views=views), data, tmp_path / f"offline-{zone is None}")

    local = repo("America/New_York")
    materialize(local)
    rows = pd.DataFrame({"origin": ["JFK"] * 3, "t": pd.to_datetime(["2013-01-10 13:59", "2013-01-10 14:00", "2013-01-10 15:00"], utc=True)})
    assert get_historical_features(local, rows, timestamp_column="t").frame["temp"].fillna(0).tolist() == [0, 1.0, 2.0]
    materialize(repo(None))
    with pytest.raises(FeatureStoreError, match="is timezone-aware but view 'w' has naive timestamps"):
        get_historical_features(repo(None), rows, timestamp_column="t")
    weather.assign(ts=weather["ts"].dt.tz_localize("UTC")).to_parquet(tmp_path / "data" / "weather.parquet")
    with pytest.raises(DataError, match="already timezone-aware; data.sources.weather.timezone"):
        materialize(repo("America/New_York"), force=True)
