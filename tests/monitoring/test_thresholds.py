"""Thresholds inherit default -> group -> column, field by field, and say which level set them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydraops import ConfigError, load_spec
from hydraops.config.schemas import ColumnGroupSpec, MonitorSpec, NumericDrift, ThresholdSpec
from hydraops.monitoring.drift import DriftThresholds, Method
from hydraops.monitoring.thresholds import BUILT_IN, Resolved, column_thresholds, resolve

CHURN = Path(__file__).resolve().parents[2] / "projects" / "churn"


def monitor() -> MonitorSpec:
    return MonitorSpec(
        default=ThresholdSpec(wasserstein=0.1, psi=0.2, ks_pvalue=0.05),
        groups={
            "spend": ColumnGroupSpec(columns=["amount", "count"], thresholds=ThresholdSpec(psi=0.25, numeric_method=NumericDrift.psi)),
            "later": ColumnGroupSpec(columns=["amount"], thresholds=ThresholdSpec(psi=0.9)),
        },
        columns={"amount": ThresholdSpec(psi=0.3), "age": ThresholdSpec(wasserstein=0.2)},
        prediction=ThresholdSpec(wasserstein=0.05),
        report_dir="reports",
    )


def test_each_field_comes_from_the_most_specific_level_that_sets_it() -> None:
    resolved = resolve(monitor(), "amount")
    assert resolved["psi"] == Resolved(0.3, "monitor.columns.amount")
    assert resolved["numeric_method"] == Resolved(NumericDrift.psi, "monitor.groups.spend.thresholds")  # the first group listing it
    assert resolved["wasserstein"] == Resolved(0.1, "monitor.default")
    assert resolved["chi2_pvalue"] == Resolved(0.05, BUILT_IN) and resolved["small_sample"] == Resolved(1000, BUILT_IN)


def test_a_column_in_a_group_only_and_one_in_none() -> None:
    assert resolve(monitor(), "count")["psi"] == Resolved(0.25, "monitor.groups.spend.thresholds")
    assert resolve(monitor(), "age")["wasserstein"] == Resolved(0.2, "monitor.columns.age")
    assert resolve(monitor(), "tenure")["psi"] == Resolved(0.2, "monitor.default")


def test_predictions_take_the_prediction_level_then_the_default() -> None:
    resolved = resolve(monitor(), "amount", prediction=True)
    assert resolved["wasserstein"] == Resolved(0.05, "monitor.prediction") and resolved["psi"] == Resolved(0.2, "monitor.default")


def test_typed_for_the_drift_check_with_the_source_of_each_method_threshold() -> None:
    amount = column_thresholds(monitor(), "amount")
    assert amount.drift == DriftThresholds(numeric_method=Method.psi, psi=0.3)
    assert amount.source(Method.psi) == "monitor.columns.amount" and amount.source(Method.ks) == "monitor.default"
    assert column_thresholds(MonitorSpec(report_dir="r"), "x").drift == DriftThresholds()  # nothing declared: Evidently's defaults


def test_the_shipped_default_and_the_churn_projects_levels() -> None:
    spec = load_spec(CHURN)
    age, spend, plan = (column_thresholds(spec.monitor, name) for name in ("age", "amount_sum_30d", "plan"))
    assert age.drift.psi == 0.1 and age.sources["psi"] == "monitor.columns.age"
    assert spend.drift.psi == 0.25 and spend.sources["psi"] == "monitor.groups.spend.thresholds"
    assert plan.drift == DriftThresholds() and set(plan.sources.values()) == {"monitor.default"}
    assert spec.monitor.drift_share == 0.5


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("monitor.columns.age.ks_pvalue=2", "monitor.columns.age.ks_pvalue", "between 0 and 1"),
        ("monitor.groups.spend.thresholds.wasserstein=0", "monitor.groups.spend.thresholds.wasserstein", "distance above 0"),
        ("monitor.default.small_sample=0", "monitor.default.small_sample", "at least 1"),
        ("monitor.drift_share=1.5", "monitor.drift_share", "at most 1"),
        ("monitor.chunk=0d", "monitor.chunk", "a duration above 0"),
        ("monitor.window=week", "monitor.window", "not a duration"),
        ("monitor.feature_status.max_missing=2", "monitor.feature_status.max_missing", "between 0 and 1"),
    ],
)
def test_config_errors_name_the_key(override: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_spec(CHURN, [override])
    problems = {p.key: p.message for p in caught.value.problems}
    assert key in problems and expected in problems[key], problems


def test_a_column_in_two_groups_is_refused_naming_the_second() -> None:
    from hydraops.config.checks import cross_reference_findings

    spec = load_spec(CHURN)
    spec.monitor.groups["again"] = ColumnGroupSpec(columns=["age", "amount_sum_30d"])
    findings = dict(cross_reference_findings(spec))
    assert findings == {"monitor.groups.again.columns[1]": "'amount_sum_30d' is already in group 'spend': a column takes the thresholds of one group"}


def test_an_unknown_method_is_refused_naming_the_key(churn: Path, hydraops) -> None:
    result = hydraops("validate", "monitor.default.numeric_method=jensenshannon", cwd=churn)
    assert result.returncode == 2
    assert "monitor.default.numeric_method (command-line override" in result.stderr and "expected one of [wasserstein, psi]" in result.stderr
