"""Data quality: null share, values outside the declared checks, unseen categories, type changes, missing and
extra columns, each firing on crafted files and quiet on reference-like ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hydraops.config.schemas import (
    ColumnSpec,
    DataSpec,
    EntitySpec,
    ExtraColumns,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    LabelsSpec,
    MonitorSpec,
    SourceSpec,
    ThresholdSpec,
)
from hydraops.monitoring.check import check_file, write_violations
from hydraops.monitoring.profile import Profile, build_profile, profile_column
from hydraops.monitoring.quality import DeclaredChecks, declared_checks, extra_columns, known_columns
from hydraops.monitoring.sketch import Sketch
from hydraops.monitoring.thresholds import threshold_findings

N = 4_000


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, n)
    spend[rng.random(n) < 0.3] = np.nan  # a feature often null in the reference too
    return pd.DataFrame({"age": rng.integers(18, 91, n), "plan": rng.choice(["basic", "standard", "premium"], n), "spend": spend})


FEATURES = FeaturesSpec(
    entities={"customer": EntitySpec(join_keys=["customer_id"])},
    views={
        "profile": FeatureViewSpec(
            entity="customer",
            source="customers",
            features={
                "age": FeatureSpec(expr="age", ge=18, le=90),
                "plan": FeatureSpec(expr="plan", isin=["basic", "standard", "premium"]),
                "spend": FeatureSpec(expr="spend"),
            },
        )
    },  # fmt: skip
    labels=LabelsSpec(source="labels", entity="customer", timestamp="label_time", target="churned", features=["channel"]),
)
DATA = DataSpec(sources={"labels": SourceSpec(columns={"channel": ColumnSpec(dtype="string", isin=["web", "app"])})})


@pytest.fixture(scope="module")
def profile() -> Profile:
    return build_profile(frame(20_000, 1))


def judge(profile: Profile, tmp_path: Path, current: pd.DataFrame, monitor: MonitorSpec | None = None):
    path = tmp_path / "current.parquet"
    current.to_parquet(path, row_group_size=1_000)
    monitor = monitor or MonitorSpec(report_dir="r")
    return check_file(profile, path, monitor, chunk_rows=900, declared=declared_checks(FEATURES, DATA), known=known_columns(FEATURES))


def checks(report) -> set[tuple[str, str | None]]:
    return {(v.check, v.feature) for v in report.violations}


def test_reference_like_data_breaches_no_quality_check(profile: Profile, tmp_path: Path) -> None:
    current = frame(N, 2).assign(customer_id=np.arange(N), label_time=pd.Timestamp("2026-01-01"), churned=0)
    report = judge(profile, tmp_path, current)
    assert not report.breached and report.warnings == [] and report.extra == []


def test_nulls_above_the_reference_share_breach_with_their_source(profile: Profile, tmp_path: Path) -> None:
    current = frame(N, 3)
    current.loc[: N // 5, "age"] = np.nan  # 20 % null where the reference had none
    current.loc[: N // 10, "spend"] = np.nan  # ~37 % null where the reference had 30 %: within 0.05 + 0.1 below
    monitor = MonitorSpec(columns={"spend": ThresholdSpec(max_null_fraction=0.1)}, report_dir="r")
    found = {v.feature: v for v in judge(profile, tmp_path, current, monitor).violations if v.check == "null_share"}
    assert set(found) == {"age"}
    assert found["age"].value == pytest.approx((N // 5 + 1) / N) and found["age"].threshold_source == "hydraops default"
    tight = MonitorSpec(columns={"spend": ThresholdSpec(max_null_fraction=0.02)}, report_dir="r")
    spend = next(v for v in judge(profile, tmp_path, current, tight).violations if v.feature == "spend" and v.check == "null_share")
    assert spend.threshold == 0.02 and spend.threshold_source == "monitor.columns.spend" and 0.02 < spend.value < 0.12


def test_values_outside_the_declared_checks_breach_not_those_outside_the_reference(profile: Profile, tmp_path: Path) -> None:
    current = frame(N, 4)
    current.loc[:99, "age"] = 95  # 2.5 % above the declared le 90
    current.loc[:79, "plan"] = "platinum"  # 2 % outside the declared isin (and unseen by the reference)
    current["spend"] *= 10  # far beyond the reference's range, but nothing is declared: drift's business, not quality's
    report = judge(profile, tmp_path, current)
    found = {(v.check, v.feature): v for v in report.violations}
    assert {"out_of_range", "unseen_category"} == {c for c, f in found if f in {"age", "plan"} and c not in {"data_drift"}} - {"data_drift"}
    assert found["out_of_range", "age"].value == pytest.approx(0.025) and found["out_of_range", "age"].method == "ge 18, le 90"
    assert found["out_of_range", "plan"].value == pytest.approx(0.02) and found["unseen_category", "plan"].value == pytest.approx(0.02)
    assert ("out_of_range", "spend") not in found and ("data_drift", "spend") in found
    assert report.sketches["plan"].unseen_examples == ["platinum"]
    lenient = MonitorSpec(default=ThresholdSpec(max_out_of_range=0.05, max_unseen=0.05), report_dir="r")
    assert not {c for c, _ in checks(judge(profile, tmp_path, current, lenient))} & {"out_of_range", "unseen_category"}


def test_a_type_change_is_a_violation_not_a_crash(profile: Profile, tmp_path: Path) -> None:
    current = frame(N, 5).astype({"age": str})
    report = judge(profile, tmp_path, current)
    change = next(v for v in report.violations if v.check == "type_change")
    assert change.feature == "age" and change.method in {"int64 -> str", "int64 -> object"}
    assert checks(report) == {("type_change", "age")}  # no drift, range or null finding on a column not compared


def test_text_in_a_later_csv_chunk_is_a_type_change(profile: Profile, tmp_path: Path) -> None:
    current = frame(N, 7).astype({"age": object})
    current.loc[N - 5 :, "age"] = "unknown"  # the last chunk reads as text
    current.to_csv(tmp_path / "current.csv", index=False)
    report = check_file(profile, tmp_path / "current.csv", MonitorSpec(report_dir="r"), chunk_rows=900, declared=declared_checks(FEATURES, DATA))
    assert ("type_change", "age") in checks(report) and report.sketches["age"].type_change is not None


def test_missing_and_extra_columns(profile: Profile, tmp_path: Path) -> None:
    current = frame(N, 6).drop(columns=["plan"]).assign(surprise=1.0, customer_id=1)
    current["feature.age"], current["status.age"], current["feature.other"] = 30, "present", 1.0
    report = judge(profile, tmp_path, current)
    assert checks(report) == {("missing_column", "plan")} and report.extra == ["surprise", "feature.other"]
    assert [(w.check, w.feature, w.threshold_source) for w in report.warnings] == [("extra_column", "surprise", "monitor.extra_columns")] + [
        ("extra_column", "feature.other", "monitor.extra_columns")
    ]
    written = json.loads(write_violations(report, tmp_path / "violations.json", model="m", version="1").read_text())
    assert [w["feature"] for w in written["warnings"]] == ["surprise", "feature.other"] and len(written["violations"]) == 1
    strict = judge(profile, tmp_path, current, MonitorSpec(extra_columns=ExtraColumns.breach, report_dir="r"))
    assert checks(strict) == {("missing_column", "plan"), ("extra_column", "surprise"), ("extra_column", "feature.other")} and not strict.warnings


def test_declared_checks_come_from_views_and_request_time_features() -> None:
    checks_ = declared_checks(FEATURES, DATA)
    assert checks_ == {"age": DeclaredChecks(18.0, 90.0, None), "plan": DeclaredChecks(isin=frozenset({"basic", "standard", "premium"})),
                       "channel": DeclaredChecks(isin=frozenset({"web", "app"}))}  # fmt: skip
    assert extra_columns(["age", "key.customer_id", "churned", "label_time", "x"], build_profile(frame(50, 1)), known_columns(FEATURES)) == ["x"]


def test_declared_checks_count_in_chunks_as_whole() -> None:
    values = pd.Series([17, 18, 50, 90, 91, None, 3.5])
    checks_ = DeclaredChecks(ge=18, le=90, isin=frozenset({"18", "50", "90", "91"}))
    whole = Sketch.of(profile_column(pd.Series(range(100), name="x")), values, declared=checks_)
    parts = Sketch.of(whole.reference, values[:3], values[3:], declared=checks_)
    assert whole.outside == parts.outside == 3  # 17, 91, 3.5: each counted once (17 and 3.5 also break isin)


def test_quality_thresholds_are_shares() -> None:
    monitor = MonitorSpec(default=ThresholdSpec(max_out_of_range=1.5, max_unseen=0.0), report_dir="r")
    assert [key for key, _ in threshold_findings(monitor)] == ["monitor.default.max_out_of_range"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-5, 15)), max_size=40), st.one_of(st.none(), st.integers(0, 10)),
       st.one_of(st.none(), st.integers(0, 10)), st.one_of(st.none(), st.sets(st.integers(-5, 15), max_size=6)), st.integers(1, 5))  # fmt: skip
def test_values_outside_counted_in_chunks_equal_a_brute_force_count(values: list, ge: int | None, le: int | None, isin: set | None, parts: int) -> None:
    checks_ = DeclaredChecks(ge, le, None if isin is None else frozenset(str(v) for v in isin))
    series = pd.Series(values, dtype="Float64")
    expected = sum(1 for v in values if v is not None and ((ge is not None and v < ge) or (le is not None and v > le) or (isin is not None and v not in isin)))
    assert sum(checks_.count_outside(series.iloc[i::parts]) for i in range(parts)) == expected
