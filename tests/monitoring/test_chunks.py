"""Current data cut into time chunks: a drift in the last days shows in those days' chunks only, rows of a day
spread over many batches count in one chunk, a small chunk is reported but not judged; the timestamp column's
errors name monitor.timestamp and the file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydraops.config.schemas import MonitorSpec
from hydraops.errors import MonitoringError
from hydraops.monitoring.check import check_file, write_violations
from hydraops.monitoring.chunks import chunk_label
from hydraops.monitoring.profile import Profile, build_profile
from hydraops.testing.drift_data import sample

COLUMNS = ["normal", "exponential", "plan"]
DAY0 = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def profile() -> Profile:
    return build_profile(sample(COLUMNS, 50_000, np.random.default_rng(21)))


def days_file(tmp_path: Path, days: int = 10, per_day: int = 2_000, *, drifted_days: tuple[int, ...] = (), naive: bool = False,
              csv: bool = False) -> Path:  # fmt: skip
    """``days`` days of rows (``normal`` shifted by 0.5 std on ``drifted_days``), shuffled, with an ``event_time``."""
    rng = np.random.default_rng(22)
    frames = []
    for day in range(days):
        frame = sample(COLUMNS, per_day, rng, shift={"normal": 0.5} if day in drifted_days else None)
        frame["event_time"] = DAY0 + timedelta(days=day) + pd.to_timedelta(rng.uniform(0, 86_399, per_day), unit="s")
        frames.append(frame)
    table = pd.concat(frames).sample(frac=1.0, random_state=3).reset_index(drop=True)  # a day's rows in every batch
    if naive:
        table["event_time"] = table["event_time"].dt.tz_localize(None)
    path = tmp_path / ("days.csv" if csv else "days.parquet")
    table.to_csv(path, index=False) if csv else table.to_parquet(path, row_group_size=1_000)
    return path


def test_a_drift_in_the_last_days_shows_in_their_chunks_only(profile: Profile, tmp_path: Path) -> None:
    path = days_file(tmp_path, drifted_days=(7, 8, 9))
    report = check_file(profile, path, MonitorSpec(timestamp="event_time", report_dir="r"), chunk_rows=700)
    assert [c.label for c in report.chunks] == [(DAY0 + timedelta(days=d)).date().isoformat() for d in range(10)]
    assert all(c.rows == 2_000 and c.judged for c in report.chunks) and report.rows == 20_000 and report.timestamp == "event_time"
    assert report.chunks[0].start == "2026-11-20T00:00:00Z" and report.chunks[0].end == "2026-11-21T00:00:00Z"
    by_chunk = {v.chunk for v in report.violations if v.check == "data_drift"}
    assert by_chunk == {"2026-11-27", "2026-11-28", "2026-11-29", None}, "the drifted days, and the whole data (3 of 10 days)"
    assert {v.feature for v in report.violations} == {"normal"}
    trend = [next(r for r in c.drift if r.column == "normal").statistic for c in report.chunks]
    assert max(trend[:7]) < 0.1 <= min(trend[7:]), trend
    written = json.loads(write_violations(report, tmp_path / "violations.json", model="m", version="1", data="d").read_text())
    assert [c["label"] for c in written["chunks"]] == [c.label for c in report.chunks]
    assert len({v["id"] for v in written["violations"]}) == len(written["violations"]), "each chunk's breach has its own id"


def test_a_chunk_below_min_rows_is_reported_not_judged(profile: Profile, tmp_path: Path) -> None:
    path = days_file(tmp_path, days=3, per_day=150, drifted_days=(2,), naive=True, csv=True)
    report = check_file(profile, path, MonitorSpec(min_rows=200, report_dir="r"), timestamp="event_time")
    assert [(c.rows, c.judged) for c in report.chunks] == [(150, False)] * 3
    assert all(v.chunk is None for v in report.violations), "a chunk of 150 rows raises no violation"


def test_chunks_of_hours_and_unchunked_data(profile: Profile, tmp_path: Path) -> None:
    path = days_file(tmp_path, days=2, per_day=1_200)
    hours = check_file(profile, path, MonitorSpec(timestamp="event_time", chunk="12h", report_dir="r"))
    assert [c.label for c in hours.chunks] == ["2026-11-20T00:00Z", "2026-11-20T12:00Z", "2026-11-21T00:00Z", "2026-11-21T12:00Z"]
    assert sum(c.rows for c in hours.chunks) == 2_400
    assert check_file(profile, path, MonitorSpec(timestamp="event_time", chunk=None, report_dir="r")).chunks == []
    assert check_file(profile, path, MonitorSpec(report_dir="r"), timestamp="label_time").chunks == [], "no such column: not chunked"
    assert chunk_label(0, timedelta(weeks=1)) == "1970-01-01T00:00Z"
    with pytest.raises(MonitoringError, match="more than 1000 time chunks of 0:01:00 by 'event_time' \\(monitor.chunk\\)") as caught:
        check_file(profile, path, MonitorSpec(timestamp="event_time", chunk="1m", report_dir="r"))
    assert caught.value.key == "monitor.chunk"


def test_timestamp_errors_name_monitor_timestamp_and_the_file(profile: Profile, tmp_path: Path) -> None:
    path = days_file(tmp_path, days=1, per_day=300)
    with pytest.raises(MonitoringError, match="no column 'served_at' \\(monitor.timestamp\\)") as caught:
        check_file(profile, path, MonitorSpec(timestamp="served_at", report_dir="r"))
    assert caught.value.key == "monitor.timestamp" and str(path) in str(caught.value)
    table = pd.read_parquet(path).assign(event_time="yesterday")
    table.to_parquet(path)
    with pytest.raises(MonitoringError, match="column 'event_time' \\(monitor.timestamp\\) is not a timestamp") as caught:
        check_file(profile, path, MonitorSpec(timestamp="event_time", report_dir="r"))
    assert str(path) in str(caught.value)
