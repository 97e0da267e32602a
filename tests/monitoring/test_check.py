"""A current file judged against a profile: drift per column, predictions, dataset drift, missing columns,
read in chunks from parquet or CSV, and violations.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydraops.config.schemas import MonitorSpec, ThresholdSpec
from hydraops.errors import MonitoringError
from hydraops.monitoring.check import check_file, write_violations
from hydraops.monitoring.profile import Profile, build_profile
from hydraops.testing.drift_data import sample

COLUMNS = ["normal", "exponential", "plan", "region"]


@pytest.fixture(scope="module")
def profile() -> Profile:
    rng = np.random.default_rng(11)
    return build_profile(sample(COLUMNS, 50_000, rng), pd.DataFrame({"prediction": rng.beta(2, 5, 20_000)}))


def current(tmp_path: Path, n: int = 5_000, *, shift: dict | None = None, prediction: float | None = None, csv: bool = False) -> Path:
    rng = np.random.default_rng(12)
    frame = sample(COLUMNS, n, rng, shift=shift)
    if prediction is not None:
        frame["prediction"] = np.clip(rng.beta(2, 5, n) + prediction, 0, 1)
    path = tmp_path / ("current.csv" if csv else "current.parquet")
    frame.to_csv(path, index=False) if csv else frame.to_parquet(path, row_group_size=1_000)
    return path


def test_no_drift_no_violation(profile: Profile, tmp_path: Path) -> None:
    report = check_file(profile, current(tmp_path), MonitorSpec(report_dir="r"), chunk_rows=700)
    assert report.rows == 5_000 and not report.breached and {r.column for r in report.drift} == set(COLUMNS)
    assert all(r.n == 5_000 for r in report.drift) and set(report.sources.values()) == {"hydraops default"}


def test_a_drifted_feature_and_drifted_predictions_are_violations(profile: Profile, tmp_path: Path) -> None:
    monitor = MonitorSpec(columns={"normal": ThresholdSpec(wasserstein=0.3)}, report_dir="r")
    report = check_file(profile, current(tmp_path, shift={"normal": 0.5}, prediction=0.2, csv=True), monitor)
    found = {(v.check, v.feature): v for v in report.violations}
    assert set(found) == {("data_drift", "normal"), ("prediction_drift", "prediction")}
    assert found["data_drift", "normal"].threshold == 0.3 and found["data_drift", "normal"].threshold_source == "monitor.columns.normal"


def test_dataset_drift_and_missing_columns(profile: Profile, tmp_path: Path) -> None:
    path = current(tmp_path, shift={"normal": 1.0, "exponential": 1.0})
    pd.read_parquet(path).drop(columns=["region"]).to_parquet(path)
    report = check_file(profile, path, MonitorSpec(drift_share=0.5, report_dir="r"))
    assert report.missing == ["region"] and report.dataset.drifted and report.dataset.share == pytest.approx(2 / 3)
    checks = sorted((v.check, v.feature) for v in report.violations)
    assert checks == [("data_drift", "exponential"), ("data_drift", "normal"), ("dataset_drift", None), ("missing_column", "region")]
    written = json.loads(write_violations(report, tmp_path / "out" / "violations.json", model="m", version="3").read_text())
    assert written["breached"] and written["version"] == "3" and len(written["violations"]) == 4
    assert {row["column"]: row["threshold_source"] for row in written["drift"]}["normal"] == "hydraops default"


def test_too_few_rows_and_no_file_name_their_key(profile: Profile, tmp_path: Path) -> None:
    with pytest.raises(MonitoringError, match="fewer than monitor.min_rows") as caught:
        check_file(profile, current(tmp_path, n=50), MonitorSpec(report_dir="r"))
    assert caught.value.key == "monitor.min_rows"
    with pytest.raises(MonitoringError, match="no such file") as caught:
        check_file(profile, tmp_path / "nowhere.parquet", MonitorSpec(report_dir="r"))
    assert caught.value.key == "current"


def test_a_parquet_file_is_read_one_chunk_at_a_time(tmp_path: Path) -> None:
    import os

    import pyarrow as pa

    from hydraops.monitoring.current import FileData

    path = current(tmp_path, 60_000)  # 60 row groups of 1,000 rows
    size, before = os.path.getsize(path), pa.total_allocated_bytes()
    held = [pa.total_allocated_bytes() - before for _ in FileData(path).chunks(COLUMNS, 1_000)]
    assert len(held) == 60 and max(held) < size / 10  # one row group at a time, never the whole file
