"""The prediction log as current data, written by the service's own log writer (parquet files; a PostgreSQL
table): only the window's rows of the monitored model, every version of it counted, cut in daily chunks;
feature-status rates; the class mix of the predictions; a window without rows names itself and the log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydraops.config.schemas import FeatureStatusSpec, MonitorSpec
from hydraops.errors import MonitoringError
from hydraops.monitoring.check import check
from hydraops.monitoring.class_mix import CLASS, class_reference
from hydraops.monitoring.log_data import LogData, Window
from hydraops.monitoring.profile import PREDICTION, Profile, build_profile
from hydraops.serving.prediction_log import read_log
from hydraops.testing.drift_data import sample
from hydraops.testing.prediction_logs import log_spec, write_rows

COLUMNS = ["normal", "plan"]
PLANS = ["basic", "plus", "premium"]
DAY0 = datetime(2026, 11, 20, tzinfo=UTC)
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def profile() -> Profile:
    rng = np.random.default_rng(31)
    features = sample(COLUMNS, 30_000, rng)
    return build_profile(features, pd.DataFrame({PREDICTION: rng.beta(2, 5, 20_000)}))


def served(days: int, per_day: int, *, seed: int = 32, drifted_days: tuple[int, ...] = (), positive_shift: float = 0.0):
    """Rows, their times (spread over each day), predictions (beta(2, 5) + ``positive_shift``) and statuses
    (``normal``: 10 % missing; ``plan``: 2 % expired)."""
    rng = np.random.default_rng(seed)
    frames, times = [], []
    for day in range(days):
        frames.append(sample(COLUMNS, per_day, rng, shift={"normal": 0.5} if day in drifted_days else None))
        times += [DAY0 + timedelta(days=day, seconds=float(s)) for s in np.sort(rng.uniform(0, 86_399, per_day))]
    frame = pd.concat(frames, ignore_index=True)
    n = len(frame)
    predictions = np.clip(rng.beta(2, 5, n) + positive_shift, 0, 1)
    statuses = {"normal": np.where(rng.uniform(size=n) < 0.1, "missing", "present"), "plan": np.where(rng.uniform(size=n) < 0.02, "expired", "present")}
    frame.loc[statuses["normal"] == "missing", "normal"] = np.nan
    return frame, times, predictions, statuses


@pytest.fixture(scope="module")
def parquet_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 days of the monitored model (version 3, then version 4 from day 5; ``normal`` drifted on days 6-7), and
    another model's rows, in a parquet log."""
    folder = tmp_path_factory.mktemp("log") / "prediction_log"
    frame, times, predictions, statuses = served(8, 1_500, drifted_days=(6, 7))
    first = [t < DAY0 + timedelta(days=5) for t in times]
    for version, rows in (("3", np.array(first)), ("4", ~np.array(first))):
        spec = log_spec({"type": "parquet", "path": str(folder)}, numeric=["normal"], categorical={"plan": PLANS}, version=version)
        write_rows(spec, frame[rows].reset_index(drop=True), [t for t, r in zip(times, rows) if r], predictions[rows],
                   {k: v[rows] for k, v in statuses.items()})  # fmt: skip
    other = log_spec({"type": "parquet", "path": str(folder)}, numeric=["normal"], categorical={"plan": PLANS}, model="other")
    write_rows(other, frame.iloc[:500], times[:500], predictions[:500])
    return folder


def test_a_window_of_the_parquet_log_by_day(profile: Profile, parquet_log: Path) -> None:
    window = Window(DAY0 + timedelta(days=1), DAY0 + timedelta(days=8))
    current = LogData({"type": "parquet", "path": str(parquet_log)}, window, "churn")
    assert set(current.columns()) >= {"normal", "plan", PREDICTION, "time", "status.normal", "status.plan"}
    report = check(profile, current, MonitorSpec(report_dir="r"), chunk_rows=1_000)
    assert report.rows == 7 * 1_500 and report.versions == {"3": 4 * 1_500, "4": 3 * 1_500}, "the other model's rows are not read"
    assert [c.label for c in report.chunks] == [f"2026-11-{day}" for day in range(21, 28)] and report.timestamp == "time"
    drifted = {v.chunk for v in report.violations if v.check == "data_drift"}
    assert drifted == {"2026-11-26", "2026-11-27", None}, "the drift of the last two days: in their chunks, and the whole window"
    assert current.identity == f"prediction log {parquet_log} [2026-11-21T00:00:00Z, 2026-11-28T00:00:00Z)"
    assert len(read_log(parquet_log, window.start, window.end)) == 7 * 1_500, "read whole: the same rows (the other model served on day 0 only)"


def test_feature_status_rates_against_their_maximums(profile: Profile, parquet_log: Path) -> None:
    window = Window(DAY0, DAY0 + timedelta(days=3))
    report = check(profile, LogData(str(parquet_log), window, "churn"), MonitorSpec(report_dir="r"))
    rates = {rate.feature: rate for rate in report.statuses}
    assert rates["normal"].rows == 4_500 and rates["normal"].missing == pytest.approx(0.1, abs=0.015) and rates["normal"].expired == 0
    assert rates["plan"].expired == pytest.approx(0.02, abs=0.01) and rates["plan"].missing == 0
    [missing] = [v for v in report.violations if v.check.startswith("feature_")]
    assert (missing.check, missing.feature, missing.threshold, missing.threshold_source) == (
        "feature_missing",
        "normal",
        0.05,
        "monitor.feature_status.max_missing",
    )
    assert all(c.statuses for c in report.chunks)
    lenient = MonitorSpec(feature_status=FeatureStatusSpec(max_missing=0.2, max_expired=0.01), report_dir="r")
    found = {(v.check, v.feature) for v in check(profile, LogData(str(parquet_log), window, "churn"), lenient).violations}
    assert ("feature_expired", "plan") in found and ("feature_missing", "normal") not in found


def test_the_class_mix_of_the_predictions(profile: Profile, tmp_path: Path) -> None:
    reference = class_reference(profile.predictions[PREDICTION], 0.5)
    true_share = (np.random.default_rng(31).beta(2, 5, 20_000) >= 0.5).mean()  # not the profile's sample, the same law
    assert reference.categories == ("0", "1") and reference.counts[1] / profile.predictions[PREDICTION].count == pytest.approx(true_share, abs=0.01)
    folder = tmp_path / "log"
    frame, times, predictions, _ = served(2, 1_500, positive_shift=0.15)
    write_rows(log_spec({"type": "parquet", "path": str(folder)}, numeric=["normal"], categorical={"plan": PLANS}), frame, times, predictions)
    window = Window(DAY0, DAY0 + timedelta(days=2))
    report = check(profile, LogData(str(folder), window, "churn"), MonitorSpec(report_dir="r"), classify_at=0.5)
    [mix] = [v for v in report.violations if v.check == "prediction_class_mix" and v.chunk is None]
    assert mix.feature == CLASS and mix.method == "jensenshannon" and mix.value >= 0.1 and mix.threshold_source == "hydraops default"
    assert report.sketches[CLASS].counts[1] == int((predictions >= 0.5).sum())
    unshifted = served(2, 1_500, seed=33)
    write_rows(log_spec({"type": "parquet", "path": str(tmp_path / "calm")}, numeric=["normal"], categorical={"plan": PLANS}), *unshifted[:3])
    calm = check(profile, LogData(str(tmp_path / "calm"), window, "churn"), MonitorSpec(report_dir="r"), classify_at=0.5)
    assert not [v for v in calm.violations if v.check == "prediction_class_mix"]
    assert CLASS not in check(profile, LogData(str(tmp_path / "calm"), window, "churn"), MonitorSpec(report_dir="r")).sketches, "no threshold: regression"


def test_a_window_without_rows_and_a_log_that_is_not_there(profile: Profile, parquet_log: Path, tmp_path: Path) -> None:
    empty = Window(DAY0 + timedelta(days=30), DAY0 + timedelta(days=37))
    with pytest.raises(MonitoringError, match="no rows to judge") as caught:
        check(profile, LogData(str(parquet_log), empty, "churn"), MonitorSpec(report_dir="r"))
    assert caught.value.key == "window" and str(parquet_log) in str(caught.value) and "[2026-12-20T00:00:00Z, 2026-12-27T00:00:00Z)" in str(caught.value)
    with pytest.raises(MonitoringError, match="no rows to judge"):
        check(profile, LogData(str(parquet_log), Window(DAY0, DAY0 + timedelta(days=2)), "nobody"), MonitorSpec(report_dir="r"))
    with pytest.raises(MonitoringError, match="no prediction log at .*stack.prediction_log.path") as caught:
        check(profile, LogData(str(tmp_path / "nowhere"), empty, "churn"), MonitorSpec(report_dir="r"))
    assert caught.value.key == "stack.prediction_log.path"


def test_a_window_of_the_postgresql_log(profile: Profile) -> None:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    schema = f"monitor_{uuid.uuid4().hex[:10]}"
    declared = {"type": "postgresql", "url": "postgresql://127.0.0.1:5432/test", "table": f"{schema}.served"}
    try:
        frame, times, predictions, statuses = served(3, 1_200, drifted_days=(2,))
        write_rows(log_spec(declared, numeric=["normal"], categorical={"plan": PLANS}), frame, times, predictions, statuses, url=POSTGRES)
        current = LogData(declared, Window(DAY0, DAY0 + timedelta(days=3)), "churn", url=POSTGRES)
        assert "postgres@" not in current.name and "127.0.0.1:5432/test" in current.name
        report = check(profile, current, MonitorSpec(report_dir="r"), chunk_rows=500, classify_at=0.5)
        assert report.rows == 3_600 and report.versions == {"3": 3_600} and [c.rows for c in report.chunks] == [1_200] * 3
        assert {v.chunk for v in report.violations if v.check == "data_drift"} == {"2026-11-22", None}
        assert {r.feature: round(r.missing, 1) for r in report.statuses} == {"normal": 0.1, "plan": 0.0}
        assert len(read_log(POSTGRES, table=declared["table"])) == 3_600
        with pytest.raises(MonitoringError, match="no prediction log table") as caught:
            check(profile, LogData({**declared, "table": f"{schema}.absent"}, current.window, "churn", url=POSTGRES), MonitorSpec(report_dir="r"))
        assert caught.value.key == "stack.prediction_log.table"
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()
