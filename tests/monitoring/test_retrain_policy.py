"""The retrain policy, rule by rule: manual, kinds, idempotence, hysteresis, cooldown, and their order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hydraops.config.schemas.lifecycle import BreachKind, HysteresisSpec, RetrainSpec, RetrainTrigger
from hydraops.monitoring.retrain_policy import (
    Breach,
    MonitoringResult,
    PastRetrain,
    chunk_sequence,
    counts,
    decide,
    monitoring_result,
)
from hydraops.tracking import tags as T

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def spec(*, when=("data_drift", "prediction_drift", "performance"), cooldown=24.0, breached=1, of=1, trigger="on_breach") -> RetrainSpec:
    return RetrainSpec(trigger=RetrainTrigger(trigger), when=[BreachKind(k) for k in when], cooldown_hours=cooldown, hysteresis=HysteresisSpec(breached, of))


def result(*breaches: Breach, chunks: tuple[str, ...] = (), run: str | None = "mon1") -> MonitoringResult:
    return MonitoringResult("churn", "1", breaches, run or "reports/violations.json", chunks, run)


AGE = Breach("b-age", "data_drift", "age")


def test_a_breach_of_a_declared_kind_retrains_and_says_what_it_answers() -> None:
    decision = decide(result(AGE, Breach("b-pred", "prediction_drift", "prediction")), spec(), [], NOW)
    assert decision.retrain and decision.breach_ids == ("b-age", "b-pred")
    assert decision.reason == "2 new breach(es) of data_drift, prediction_drift; 1 of the last 1 chunk(s) breached"
    assert decision.tags == {T.TRIGGERED_BY: "mon1", T.BREACH_IDS: "b-age,b-pred"}


def test_manual_only_reports_and_says_what_on_breach_would_do() -> None:
    decision = decide(result(AGE), spec(trigger="manual"), [], NOW)
    assert not decision.retrain and decision.reason == "retrain.trigger is manual: only reporting"
    assert decision.details == ("on_breach would retrain: 1 new breach(es) of data_drift; 1 of the last 1 chunk(s) breached",)
    assert decision.tags == {}


def test_no_breach_and_breaches_of_other_kinds_do_not_retrain() -> None:
    assert decide(result(), spec(), [], NOW).reason == "no breach in the monitoring result of churn v1"
    other = decide(result(Breach("x", "missing_column", "age")), spec(when=("data_drift",)), [], NOW)
    assert not other.retrain and other.reason == "no breach of a kind in retrain.when (data_drift); found: missing_column"
    assert not decide(result(AGE), spec(when=()), [], NOW).retrain


@pytest.mark.parametrize(
    ("check", "when", "expected"),
    [
        ("null_share", ["quality"], True),
        ("out_of_range", ["quality"], True),
        ("feature_missing", ["quality"], True),
        ("missing_column", ["quality"], True),
        ("data_drift", ["quality"], False),
        ("prediction_class_mix", ["prediction_class_mix"], True),
        ("dataset_drift", ["data_drift"], False),
        ("performance", [BreachKind.performance], True),
    ],
)
def test_which_checks_a_kind_counts(check: str, when: list, expected: bool) -> None:
    assert counts(check, when) is expected


def test_a_breach_recorded_on_an_earlier_retrain_never_triggers_again() -> None:
    past = [PastRetrain("run1", NOW - timedelta(days=30), "mon0", frozenset({"b-age"}))]
    again = decide(result(AGE), spec(), past, NOW)
    assert not again.retrain and again.reason == "already retrained for these 1 breach(es): run run1"
    fresh = decide(result(AGE, Breach("b-new", "data_drift", "plan")), spec(), past, NOW)
    assert fresh.retrain and fresh.breach_ids == ("b-new",)


def test_cooldown_counts_from_the_latest_retrain() -> None:
    past = [PastRetrain("old", NOW - timedelta(days=9)), PastRetrain("recent", NOW - timedelta(hours=3))]
    cooling = decide(result(AGE), spec(cooldown=24), past, NOW)
    assert not cooling.retrain
    assert cooling.reason == ("cooldown: the last retrain (run recent) started 3.0 h ago; retrain.cooldown_hours=24 ends at 2026-12-01T09:00:00+00:00")
    assert decide(result(AGE), spec(cooldown=2), past, NOW).retrain
    assert decide(result(AGE), spec(cooldown=0), [PastRetrain("now", NOW)], NOW).retrain


def test_idempotence_is_asked_before_the_cooldown() -> None:
    past = [PastRetrain("recent", NOW - timedelta(minutes=5), "mon1", frozenset({"b-age"}))]
    assert decide(result(AGE), spec(), past, NOW).reason.startswith("already retrained")


def chunked(*labels: str, all_chunks: tuple[str, ...]) -> MonitoringResult:
    return result(*(Breach(f"b-{label}", "data_drift", "age", label) for label in labels), chunks=all_chunks)


DAYS = ("2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26")


@pytest.mark.parametrize(
    ("breached_days", "k", "n", "expected"),
    [
        (("2026-11-26",), 1, 1, True),
        (("2026-11-25",), 1, 1, False),  # the latest chunk is clean
        (("2026-11-25", "2026-11-26"), 2, 3, True),
        (("2026-11-23", "2026-11-26"), 2, 3, False),  # the first breach is out of the window
        (("2026-11-24", "2026-11-25", "2026-11-26"), 3, 3, True),
        (("2026-11-24",), 1, 10, True),  # a window wider than the data: every chunk
    ],
)
def test_hysteresis_k_of_the_last_n_chunks(breached_days: tuple[str, ...], k: int, n: int, expected: bool) -> None:
    decision = decide(chunked(*breached_days, all_chunks=DAYS), spec(breached=k, of=n), [], NOW)
    assert decision.retrain is expected, decision.reason
    if not expected:
        assert f"retrain.hysteresis needs {k} of {n}" in decision.reason


def test_without_a_chunk_list_the_violations_labels_are_the_chunks_and_whole_data_is_one_chunk() -> None:
    labelled = chunked("2026-11-24", "2026-11-25", all_chunks=())
    assert chunk_sequence(labelled, labelled.breaches) == ["2026-11-24", "2026-11-25"]
    assert decide(labelled, spec(breached=2, of=2), [], NOW).retrain
    whole = result(AGE)
    assert chunk_sequence(whole, whole.breaches) == [None]
    assert decide(whole, spec(breached=1, of=3), [], NOW).retrain
    assert not decide(whole, spec(breached=2, of=3), [], NOW).retrain  # one chunk cannot be two


def test_monitoring_result_from_violations_json() -> None:
    body = {
        "format": 1, "model": "churn", "version": "3", "monitoring_run": "abc",
        "violations": [{"id": "i1", "check": "data_drift", "feature": "age", "chunk": "2026-11-23", "value": 0.3}],
        "chunks": [{"label": "2026-11-23"}, {"label": "2026-11-24"}],
    }  # fmt: skip
    parsed = monitoring_result(body, source="v.json", digest="f" * 64)
    assert parsed == MonitoringResult("churn", "3", (Breach("i1", "data_drift", "age", "2026-11-23"),), "abc", ("2026-11-23", "2026-11-24"), "abc")
    without_run = monitoring_result({**body, "monitoring_run": None}, source="v.json", digest="f" * 64)
    assert without_run.trigger == "v.json@sha256:ffffffffffffffff" and without_run.monitoring_run_id is None
    with pytest.raises(ValueError, match="v.json: expected violations.json format 1"):
        monitoring_result({"format": 2}, source="v.json")
    with pytest.raises(ValueError, match="needs an id and a check"):
        monitoring_result({"format": 1, "violations": [{"check": "data_drift"}]}, source="v.json")
