"""Time is never silently shifted: naive feature timestamps joined onto aware labels (or the reverse) are an
error naming both columns, on every path that builds a point-in-time join (CLI and API)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from hydraops import load_spec
from hydraops.errors import FeatureStoreError
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
    assert "timezone(" in message and "Traceback" not in message
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
