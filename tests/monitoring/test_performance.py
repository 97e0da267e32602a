"""Performance once labels arrive: the point-in-time join of labels to the prediction log (against a brute-force
reference), and the metric per time chunk against the test metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hydraops.errors import MonitoringError
from hydraops.monitoring.performance import join_labels, performance_checks, time_chunks
from hydraops.serving.prediction_log import read_log
from hydraops.testing.labelled_log import START, labelled_log, write_log

COLUMNS = {"keys": ["customer_id"], "label_time": "label_time", "target": "churned"}


def log_rows(rows: list[tuple[int, int, float]], version: str = "1") -> pd.DataFrame:
    """Prediction log rows from (customer, second after START, score)."""
    return pd.DataFrame({"time": pd.to_datetime([START + timedelta(seconds=s) for _, s, _ in rows], utc=True),
                         "key.customer_id": [str(c) for c, _, _ in rows], "prediction": [p for *_, p in rows], "model_version": version})  # fmt: skip


def label_rows(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    """Labels from (customer, second after START, target), naive UTC times as a labels file holds them."""
    times = [(START + timedelta(seconds=s)).replace(tzinfo=None) for _, s, _ in rows]
    return pd.DataFrame({"customer_id": [c for c, _, _ in rows], "label_time": pd.to_datetime(times), "churned": [t for *_, t in rows]})


def test_a_label_joins_the_latest_earlier_prediction_never_a_later_one() -> None:
    log = log_rows([(1, 100, 0.1), (1, 200, 0.2), (1, 400, 0.4), (2, 500, 0.5)])
    labels = label_rows([(1, 300, 1), (1, 200, 0), (2, 450, 1), (3, 900, 1)])  # 2 is labelled before its only prediction; 3 never scored
    joined = join_labels(log, labels, **COLUMNS)
    assert sorted(zip(joined["label_time"].dt.strftime("%H:%M:%S"), joined["prediction"], strict=True)) == [("00:03:20", 0.2), ("00:05:00", 0.2)]
    assert str(joined["prediction_time"].dt.tz) == "UTC"
    aged = join_labels(log, labels, **COLUMNS, max_age=timedelta(seconds=50))
    assert list(aged["prediction"]) == [0.2], "the label at 300 s: its prediction at 200 s is 100 s old"


def test_naive_label_times_are_read_in_the_declared_timezone() -> None:
    log = log_rows([(1, 0, 0.3)])  # 2026-11-01 00:00 UTC
    labels = pd.DataFrame({"customer_id": [1], "label_time": pd.to_datetime(["2026-10-31 21:00"]), "churned": [1]})
    assert join_labels(log, labels, **COLUMNS).empty, "21:00 UTC is before the prediction"
    assert len(join_labels(log, labels, **COLUMNS, timezone="America/Sao_Paulo")) == 1, "21:00 in São Paulo (UTC-3) is midnight UTC"


ROWS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1_000)), max_size=30)


@settings(max_examples=40, deadline=None)
@given(predicted=ROWS, labelled=ROWS, max_age=st.one_of(st.none(), st.integers(0, 300)))
def test_the_asof_join_equals_a_brute_force_search(predicted: list, labelled: list, max_age: int | None) -> None:
    predicted = list({second: (customer, second) for customer, second in predicted}.values())  # one prediction per instant: no ties
    log = log_rows([(c, s, float(s)) for c, s in predicted])
    labels = label_rows([(c, s, 0) for c, s in labelled])
    expected = []
    for customer, second in labelled:
        earlier = [s for c, s in predicted if c == customer and s <= second and (max_age is None or second - s <= max_age)]
        latest = max((s for c, s in predicted if c == customer and s <= second), default=None)
        if earlier and latest in earlier:
            expected.append((second, float(latest)))
    joined = join_labels(log, labels, **COLUMNS, max_age=None if max_age is None else timedelta(seconds=max_age))
    seconds = ((joined["label_time"] - pd.Timestamp(START)).dt.total_seconds()).astype(int)
    assert sorted(zip(seconds, joined["prediction"], strict=True)) == sorted(expected)


def test_a_chunk_whose_labels_flipped_breaches_the_clean_ones_do_not(tmp_path: Path) -> None:
    log, labels = labelled_log(days=3, customers=400, flipped={"2026-11-02"}, seed=3)
    logged = read_log(write_log(tmp_path / "log", log))  # through the service's parquet layout
    path = tmp_path / "labels.parquet"
    labels.to_parquet(path)
    report = performance_checks(logged, pd.read_parquet(path), **COLUMNS, metric="roc_auc", baseline=0.75, max_drop=0.05)
    assert [r.chunk for r in report.chunks] == ["2026-11-01", "2026-11-02", "2026-11-03"] and report.joined == report.labels == 1_200
    assert [r.breached for r in report.chunks] == [False, True, False] and all(r.rows == 400 for r in report.chunks)
    (violation,) = report.violations
    assert (violation.check, violation.chunk, violation.method, violation.threshold) == ("performance", "2026-11-02", "roc_auc", 0.05)
    assert violation.value == pytest.approx(0.75 - report.chunks[1].value) and violation.threshold_source == "monitor.performance.max_drop"
    worse = performance_checks(logged, labels, **COLUMNS, metric="log_loss", baseline=0.6, max_drop=0.1)
    assert [r.breached for r in worse.chunks] == [False, True, False], "a lower-is-better metric drops by rising"


def test_too_few_labels_or_one_class_is_reported_not_judged() -> None:
    log, labels = labelled_log(days=2, customers=150, seed=4)
    labels = labels[(labels["label_time"] < datetime(2026, 11, 2)) | (labels.index % 5 == 0)]  # day 2: 30 labels
    report = performance_checks(log, labels, **COLUMNS, metric="roc_auc", baseline=0.99, max_drop=0.01, min_rows=50)
    first, second = report.chunks
    assert first.breached and first.reason is None
    assert (second.rows, second.value, second.breached) == (30, None, False) and "fewer than monitor.performance.min_rows (50)" in second.reason
    negatives = labels.assign(churned=0)
    (only,) = performance_checks(log, negatives, **COLUMNS, metric="roc_auc", baseline=0.8, max_drop=0.05, min_rows=1).chunks[:1]
    assert not only.breached and "needs both classes" in only.reason


def test_only_the_judged_versions_predictions_in_the_window_count() -> None:
    old, labels = labelled_log(days=2, customers=200, seed=5, version="1")
    new, _ = labelled_log(days=2, customers=200, seed=5, version="2")
    new["time"] -= pd.Timedelta(seconds=1)  # each label's latest prediction is version 1's
    report = performance_checks(pd.concat([old, new]), labels, **COLUMNS, metric="roc_auc", baseline=0.7, max_drop=0.5, version="2")
    assert report.joined == 0 and report.chunks == []
    windowed = performance_checks(old, labels, **COLUMNS, metric="roc_auc", baseline=0.7, max_drop=0.5, start=datetime(2026, 11, 2, tzinfo=UTC))
    assert [r.chunk for r in windowed.chunks] == ["2026-11-02"] and windowed.joined == 200


def test_chunks_of_hours_are_labelled_by_their_start_and_bad_targets_named() -> None:
    frame = pd.DataFrame({"t": pd.to_datetime(["2026-11-01 05:59", "2026-11-01 06:00", "2026-11-01 11:59"], utc=True)})
    assert [(label, len(rows)) for label, _, rows in time_chunks(frame, "t", timedelta(hours=6))] == [("2026-11-01T00:00", 1), ("2026-11-01T06:00", 2)]
    log, labels = labelled_log(days=1, customers=120, seed=6)
    with pytest.raises(MonitoringError, match=r"target has value\(s\) \['2'\]; roc_auc needs 0/1"):
        performance_checks(log, labels.assign(churned=2), **COLUMNS, metric="roc_auc", baseline=0.7, max_drop=0.05)
    empty = performance_checks(pd.DataFrame(), labels, **COLUMNS, metric="roc_auc", baseline=0.7, max_drop=0.05)
    assert (empty.labels, empty.joined, empty.chunks) == (120, 0, []), "an empty log (a window with nothing logged) joins nothing"
    with pytest.raises(MonitoringError, match="lack column"):
        join_labels(log.drop(columns=["key.customer_id"]), labels, **COLUMNS)


def test_performance_settings_are_checked_with_their_keys() -> None:
    from hydraops.config.schemas import MonitorSpec, PerformanceSpec
    from hydraops.monitoring.thresholds import threshold_findings

    monitor = MonitorSpec(performance=PerformanceSpec(chunk="1x", max_age="0d", min_rows=0, max_drop=-0.1), report_dir="r")
    assert [key for key, _ in threshold_findings(monitor)] == [
        "monitor.performance.chunk", "monitor.performance.max_age", "monitor.performance.min_rows", "monitor.performance.max_drop",
    ]  # fmt: skip
