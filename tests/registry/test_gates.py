"""Promotion gates as pure functions: properties over random metrics, thresholds and champion states, plus
one example per edge case."""

from __future__ import annotations

import math
import operator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hydraops.config.schemas.lifecycle import GateSpec, GateType, Op
from hydraops.errors import HydraopsError
from hydraops.registry.gates import (
    LOWER_IS_BETTER,
    Decision,
    GateContext,
    GateResult,
    ModelFacts,
    RegistryError,
    check_gate,
    evaluate_gate,
    evaluate_gates,
)

OPS = {Op.ge: operator.ge, Op.gt: operator.gt, Op.le: operator.le, Op.lt: operator.lt}
HIGHER = ("roc_auc", "f1", "accuracy")
LOWER = tuple(sorted(LOWER_IS_BETTER))
METRICS = HIGHER + LOWER

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)
deltas = st.floats(min_value=-1, max_value=1, allow_nan=False)


def facts(version: str = "1", **kwargs) -> ModelFacts:
    return ModelFacts(version=version, **kwargs)


def ctx(candidate: ModelFacts, champion: ModelFacts | None = None, approve: bool = False) -> GateContext:
    return GateContext(candidate=candidate, champion=champion, approve=approve)


def beats(metric: str, candidate: float, champion: float | None, min_delta: float = 0.0, relative: bool = False) -> GateResult:
    gate = GateSpec(type=GateType.beats_champion, metric=metric, min_delta=min_delta, relative=relative)
    champ = None if champion is None else facts("1", metrics={f"test.{metric}": champion})
    return evaluate_gate(gate, ctx(facts("2", metrics={f"test.{metric}": candidate}), champ))


def slices_gate(max_drop: float = 0.0, metric: str = "roc_auc", slices: tuple[str, ...] = ("region",)) -> GateSpec:
    return GateSpec(type=GateType.no_slice_regression, metric=metric, slices=list(slices), max_drop=max_drop)


def sliced(values_by_label: dict[str, float], metric: str = "roc_auc", column: str = "region") -> dict[str, float]:
    return {f"test.{column}:{label}.{metric}": value for label, value in values_by_label.items()}


# --- strategies of whole gates and contexts ---------------------------------------------------------------

metric_names = st.sampled_from(METRICS)
labels = st.sampled_from(["north", "south", "east", "a.b", "missing"])


@st.composite
def model_facts(draw: st.DrawFn, version: str) -> ModelFacts:
    metrics = draw(st.dictionaries(st.builds("test.{}".format, metric_names), unit, max_size=len(METRICS)))
    for metric in draw(st.lists(metric_names, max_size=3)):
        metrics |= sliced(draw(st.dictionaries(labels, unit, max_size=4)), metric)
    optional = lambda strategy: st.none() | strategy  # noqa: E731
    return ModelFacts(
        version=version,
        metrics=metrics,
        size_mb=draw(optional(st.floats(0, 500))),
        predict_latency_p99_ms=draw(optional(st.floats(0, 500))),
        data_checks_passed=draw(optional(st.booleans())),
        approved=draw(st.booleans()),
    )


contexts = st.builds(GateContext, candidate=model_facts("2"), champion=st.none() | model_facts("1"), approve=st.booleans())
gates = st.one_of(
    st.builds(GateSpec, type=st.just(GateType.metric_threshold), metric=metric_names, op=st.sampled_from(Op), value=unit),
    st.builds(GateSpec, type=st.just(GateType.beats_champion), metric=metric_names, min_delta=deltas, relative=st.booleans()),
    st.builds(GateSpec, type=st.just(GateType.no_slice_regression), metric=metric_names, slices=st.just(["region"]), max_drop=st.floats(0, 0.5)),  # fmt: skip
    st.builds(GateSpec, type=st.sampled_from([GateType.max_model_size_mb, GateType.max_predict_latency_ms]), value=st.floats(0, 500)),  # fmt: skip
    st.builds(GateSpec, type=st.sampled_from([GateType.data_checks_passed, GateType.manual_approval])),
)


# --- properties -------------------------------------------------------------------------------------------


@given(st.floats(allow_nan=False), st.floats(allow_nan=False), st.sampled_from(Op), st.sampled_from(["test", "valid"]))
def test_metric_threshold_agrees_with_its_operator(value: float, threshold: float, op: Op, split: str) -> None:
    assume(math.isfinite(threshold))
    gate = GateSpec(type=GateType.metric_threshold, metric="roc_auc", split=split, op=op, value=threshold)
    result = evaluate_gate(gate, ctx(facts(metrics={f"{split}.roc_auc": value})))
    assert result.passed is OPS[op](value, threshold)
    assert result.value == value and result.gate == f"metric_threshold {split}.roc_auc"


@given(metric_names, values, st.floats(-1e3, 1e3), st.booleans())
def test_beats_champion_always_passes_without_a_champion(metric: str, candidate: float, min_delta: float, relative: bool) -> None:
    assert beats(metric, candidate, None, min_delta, relative).passed


@given(metric_names, values, values, st.floats(min_value=1e-9, max_value=1e3), st.booleans())
def test_beats_champion_is_antisymmetric(metric: str, a: float, b: float, min_delta: float, relative: bool) -> None:
    assert not (beats(metric, a, b, min_delta, relative).passed and beats(metric, b, a, min_delta, relative).passed)


@given(values, values, st.floats(-1e3, 1e3), st.sampled_from(LOWER), st.sampled_from(HIGHER))
def test_beats_champion_direction_flips_for_loss_metrics(a: float, b: float, min_delta: float, low: str, high: str) -> None:
    # a loss candidate a against champion b is judged exactly like a score candidate b against champion a
    assert beats(low, a, b, min_delta).passed == beats(high, b, a, min_delta).passed
    assert beats(low, a, b, min_delta).value == beats(high, b, a, min_delta).value


@given(metric_names, values, values, values, deltas, st.booleans())
def test_beats_champion_is_monotone_in_the_candidate(metric: str, x: float, y: float, champion: float, min_delta: float,
                                                     relative: bool) -> None:  # fmt: skip
    worse, better = sorted((x, y), reverse=metric in LOWER_IS_BETTER)
    if beats(metric, worse, champion, min_delta, relative).passed:
        assert beats(metric, better, champion, min_delta, relative).passed


@given(metric_names, values, st.booleans())
def test_beats_champion_a_tie_passes_only_without_a_positive_min_delta(metric: str, value: float, relative: bool) -> None:
    assert beats(metric, value, value, 0.0, relative).passed
    assert not beats(metric, value, value, 0.001, relative).passed


@given(st.dictionaries(labels, unit, min_size=1), st.data(), st.floats(0, 1), st.sampled_from(["roc_auc", "rmse"]))
def test_no_slice_regression_passes_when_every_slice_is_at_least_as_good(champion: dict[str, float], data: st.DataObject, max_drop: float, metric: str) -> None:
    gains = {label: data.draw(st.floats(0, 1), label=label) for label in champion}
    sign = -1 if metric in LOWER_IS_BETTER else 1
    candidate = {label: value + sign * gains[label] for label, value in champion.items()}
    context = ctx(facts("2", metrics=sliced(candidate, metric)), facts("1", metrics=sliced(champion, metric)))
    result = evaluate_gate(slices_gate(max_drop, metric), context)
    assert result.passed and result.value is not None and result.value <= 0


@given(st.dictionaries(labels, unit, min_size=1), st.data(), st.floats(0, 0.5), st.sampled_from(["roc_auc", "rmse"]))
def test_no_slice_regression_fails_when_one_slice_drops_too_much(champion: dict[str, float], data: st.DataObject, max_drop: float, metric: str) -> None:
    victim = data.draw(st.sampled_from(sorted(champion)))
    sign = -1 if metric in LOWER_IS_BETTER else 1
    candidate = dict(champion) | {victim: champion[victim] - sign * (max_drop + 1e-6)}
    context = ctx(facts("2", metrics=sliced(candidate, metric)), facts("1", metrics=sliced(champion, metric)))
    result = evaluate_gate(slices_gate(max_drop, metric), context)
    assert not result.passed and victim in result.reason


@given(st.dictionaries(labels, unit), st.floats(0, 1))
def test_no_slice_regression_passes_without_a_champion(candidate: dict[str, float], max_drop: float) -> None:
    assert evaluate_gate(slices_gate(max_drop), ctx(facts(metrics=sliced(candidate)))).passed


@given(st.lists(gates, max_size=8), contexts)
def test_a_decision_passes_iff_every_gate_passes(specs: list[GateSpec], context: GateContext) -> None:
    decision = evaluate_gates(specs, context)
    assert decision.results == tuple(evaluate_gate(gate, context) for gate in specs)
    assert decision.passed == all(result.passed for result in decision.results)
    assert decision.failures == tuple(r for r in decision.results if not r.passed)
    assert [row[3] for row in decision.table_rows()] == ["pass" if r.passed else "fail" for r in decision.results]
    assert evaluate_gates(list(reversed(specs)), context).passed == decision.passed


@given(st.lists(gates, max_size=6), gates, contexts)
def test_adding_a_gate_never_turns_a_failing_decision_into_a_passing_one(specs: list[GateSpec], extra: GateSpec, context: GateContext) -> None:
    before = evaluate_gates(specs, context)
    after = evaluate_gates([*specs, extra], context)
    assert after.passed == (before.passed and after.results[-1].passed)
    if not before.passed or not evaluate_gate(extra, context).passed:
        assert not after.passed


# --- examples: every edge case ----------------------------------------------------------------------------


def test_no_gates_pass() -> None:
    decision = evaluate_gates([], ctx(facts()))
    assert decision.passed and decision.results == () and decision.table_rows() == []


def test_metric_threshold_missing_metric_fails_naming_the_key() -> None:
    gate = GateSpec(type=GateType.metric_threshold, metric="roc_auc", split="valid", value=0.7)
    result = evaluate_gate(gate, ctx(facts(metrics={"test.roc_auc": 0.9, "valid.roc_auc": math.nan})))
    assert not result.passed and result.value is None and "'valid.roc_auc'" in result.reason


def test_metric_threshold_boundaries() -> None:
    context = ctx(facts(metrics={"test.log_loss": 0.3}))
    run = lambda op: evaluate_gate(GateSpec(type=GateType.metric_threshold, metric="log_loss", op=op, value=0.3), context)  # noqa: E731
    assert [run(op).passed for op in (Op.ge, Op.gt, Op.le, Op.lt)] == [True, False, True, False]
    assert run("le").passed and run(Op.le).threshold == "<= 0.3"


def test_beats_champion_min_delta_is_inclusive_despite_float_noise() -> None:
    assert 0.81 - 0.80 != 0.01 and 0.71 - 0.70 != 0.01
    assert beats("roc_auc", 0.81, 0.80, 0.01).passed and beats("roc_auc", 0.71, 0.70, 0.01).passed
    assert beats("rmse", 0.70, 0.71, 0.01).passed
    assert not beats("roc_auc", 0.8099, 0.80, 0.01).passed


def test_beats_champion_direction() -> None:
    assert beats("roc_auc", 0.9, 0.8).passed and not beats("roc_auc", 0.8, 0.9).passed
    for loss in LOWER_IS_BETTER:
        assert beats(loss, 0.2, 0.3).passed and not beats(loss, 0.3, 0.2).passed
    assert beats("log_loss", 0.2, 0.3).value == pytest.approx(0.1)


def test_beats_champion_relative() -> None:
    assert beats("roc_auc", 0.88, 0.80, 0.1, relative=True).passed  # +10 %
    assert not beats("roc_auc", 0.87, 0.80, 0.1, relative=True).passed
    assert beats("rmse", 9.0, 10.0, 0.1, relative=True).passed  # 10 % lower error
    assert beats("roc_auc", -0.9, -1.0, 0.1, relative=True).passed  # |champion| for negative values
    # a champion of exactly 0: the sign of the difference decides
    assert beats("roc_auc", 0.1, 0.0, 5.0, relative=True).value == math.inf
    assert beats("roc_auc", 0.0, 0.0, 0.0, relative=True).passed
    assert not beats("roc_auc", -0.1, 0.0, -5.0, relative=True).passed


def test_beats_champion_negative_min_delta_is_a_tolerance() -> None:
    assert beats("roc_auc", 0.795, 0.80, -0.01).passed
    assert not beats("roc_auc", 0.785, 0.80, -0.01).passed


def test_beats_champion_missing_metrics() -> None:
    gate = GateSpec(type=GateType.beats_champion, metric="roc_auc")
    champion = facts("1", metrics={"test.f1": 0.5})
    result = evaluate_gate(gate, ctx(facts("2", metrics={"test.roc_auc": 0.5}), champion))
    assert result.passed and "champion v1 has no metric 'test.roc_auc'" in result.reason  # nothing to beat
    result = evaluate_gate(gate, ctx(facts("2"), facts("1", metrics={"test.roc_auc": 0.5})))
    assert not result.passed and "candidate has no metric 'test.roc_auc'" in result.reason
    result = evaluate_gate(gate, ctx(facts("2")))
    assert result.passed and result.reason == "no champion yet"


def test_no_slice_regression_reports_one_sided_keys_and_the_worst_drop() -> None:
    candidate = sliced({"north": 0.80, "south": 0.70, "west": 0.9}) | sliced({"a": 0.5}, column="tier")
    champion = sliced({"north": 0.85, "south": 0.70, "east": 0.9}) | sliced({"a": 0.5}, column="tier")
    context = ctx(facts("2", metrics=candidate), facts("1", metrics=champion))
    result = evaluate_gate(slices_gate(0.05, slices=("region", "tier")), context)
    assert result.passed  # 0.85 - 0.80 == 0.05000000000000004: within the tolerance
    assert result.value == pytest.approx(0.05) and "largest drop" in result.reason
    assert "not on champion v1: test.region:west.roc_auc" in result.reason
    assert "not on candidate: test.region:east.roc_auc" in result.reason
    result = evaluate_gate(slices_gate(0.04, slices=("region", "tier")), context)
    assert not result.passed and "regressed: test.region:north.roc_auc by 0.05" in result.reason


def test_no_slice_regression_loss_metric_and_dotted_labels() -> None:
    candidate = sliced({"a.b": 0.40, "c": 0.2}, "log_loss") | {"test.log_loss": 0.1, "test.region:c.roc_auc": 0.1}
    champion = sliced({"a.b": 0.30, "c": 0.3}, "log_loss") | {"test.region:c.roc_auc": 0.9}
    context = ctx(facts("2", metrics=candidate), facts("1", metrics=champion))
    result = evaluate_gate(slices_gate(0.05, "log_loss"), context)
    assert not result.passed and "test.region:a.b.log_loss" in result.reason and "region:c" not in result.reason.split(";")[0]
    assert result.value == pytest.approx(0.1)


def test_no_slice_regression_fails_when_the_candidate_has_no_slice_for_a_column() -> None:
    context = ctx(facts("2", metrics=sliced({"north": 0.9})), facts("1", metrics=sliced({"north": 0.9})))
    result = evaluate_gate(slices_gate(0.1, slices=("region", "regoin")), context)
    assert not result.passed and "candidate has no slice metric test.regoin:*.roc_auc" in result.reason
    # the champion lacking every slice: nothing to regress from, so it passes, with nothing compared
    result = evaluate_gate(slices_gate(0.1), ctx(facts("2", metrics=sliced({"north": 0.9})), facts("1")))
    assert result.passed and result.value is None and "no slice on both sides" in result.reason


def test_data_checks_passed() -> None:
    gate = GateSpec(type=GateType.data_checks_passed)
    outcomes = {state: evaluate_gate(gate, ctx(facts(data_checks_passed=state))) for state in (True, False, None)}
    assert [(r.passed, r.value) for r in outcomes.values()] == [(True, "passed"), (False, "failed"), (False, "unknown")]


@pytest.mark.parametrize(("kind", "attribute"), [(GateType.max_model_size_mb, "size_mb"),
                                                 (GateType.max_predict_latency_ms, "predict_latency_p99_ms")])  # fmt: skip
def test_measured_limits(kind: GateType, attribute: str) -> None:
    gate = GateSpec(type=kind, value=50)
    run = lambda measured: evaluate_gate(gate, ctx(facts(**{attribute: measured})))  # noqa: E731
    assert run(50.0).passed and run(10.0).passed and not run(50.01).passed
    for unmeasured in (None, math.nan):
        assert not run(unmeasured).passed and "not measured" in run(unmeasured).reason


def test_manual_approval() -> None:
    gate = GateSpec(type=GateType.manual_approval)
    assert evaluate_gate(gate, ctx(facts(), approve=True)).passed
    assert evaluate_gate(gate, ctx(facts(approved=True))).passed
    result = evaluate_gate(gate, ctx(facts()))
    assert not result.passed and result.value == "not approved"


def test_table_rows() -> None:
    specs = [
        GateSpec(type=GateType.metric_threshold, metric="roc_auc", value=0.8),
        GateSpec(type=GateType.beats_champion, metric="roc_auc", min_delta=0.01),
        GateSpec(type=GateType.no_slice_regression, metric="roc_auc", slices=["region"], max_drop=0.02),
        GateSpec(type=GateType.max_model_size_mb, value=10),
        GateSpec(type=GateType.manual_approval),
    ]
    candidate = facts("2", metrics={"test.roc_auc": 0.8312345} | sliced({"north": 0.8}), size_mb=12.5)
    decision = evaluate_gates(specs, ctx(candidate))
    assert isinstance(decision, Decision) and not decision.passed
    assert decision.table_rows() == [
        ("metric_threshold test.roc_auc", "0.831234", ">= 0.8", "pass"),
        ("beats_champion test.roc_auc", "-", "improvement >= 0.01", "pass"),
        ("no_slice_regression test.roc_auc by region", "-", "drop <= 0.02 per slice", "pass"),
        ("max_model_size_mb", "12.5", "<= 10 MB", "fail"),
        ("manual_approval", "not approved", "approve=true or approval tag", "fail"),
    ]
    assert [r.gate for r in decision.failures] == ["max_model_size_mb", "manual_approval"]


def test_facts_are_immutable_copies() -> None:
    metrics = {"test.roc_auc": 0.9}
    model = facts(metrics=metrics)
    metrics["test.roc_auc"] = 0.1
    assert model.metrics["test.roc_auc"] == 0.9
    with pytest.raises(TypeError):
        model.metrics["test.roc_auc"] = 0.5  # type: ignore[index]


# --- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (GateSpec(type=GateType.metric_threshold, metric="roc_auc"), "registry.gates[1].value: required by a metric_threshold gate"),
        (GateSpec(type=GateType.metric_threshold, value=0.8), "registry.gates[1].metric: required by a metric_threshold gate"),
        (GateSpec(type=GateType.beats_champion, metric=""), "registry.gates[1].metric: required by a beats_champion gate"),
        (GateSpec(type=GateType.no_slice_regression, metric="f1", max_drop=0.1), "registry.gates[1].slices: required"),
        (GateSpec(type=GateType.no_slice_regression, metric="f1", slices=["region"]), "registry.gates[1].max_drop: required"),
        (GateSpec(type=GateType.max_model_size_mb), "registry.gates[1].value: required by a max_model_size_mb gate"),
        (GateSpec(type=GateType.max_predict_latency_ms), "registry.gates[1].value: required"),
        (GateSpec(type=GateType.beats_champion, metric="f1", min_delta=math.nan), "registry.gates[1].min_delta: must be a finite"),
        (GateSpec(type=GateType.metric_threshold, metric="f1", value=math.inf), "registry.gates[1].value: must be a finite"),
        (GateSpec(type=GateType.metric_threshold, metric="f1", value=0.5, op="eq"), "registry.gates[1].op: unknown operator 'eq'"),  # type: ignore[arg-type]
        (GateSpec(type="best_gate"), "registry.gates[1].type: unknown gate type 'best_gate'"),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_a_gate_missing_a_field_is_a_registry_error(gate: GateSpec, message: str) -> None:
    ok = GateSpec(type=GateType.manual_approval)
    with pytest.raises(RegistryError, match=message.replace("[", r"\[").replace("]", r"\]")) as raised:
        evaluate_gates([ok, gate], ctx(facts(), approve=True))  # no champion: checked all the same
    assert isinstance(raised.value, HydraopsError) and raised.value.exit_code == 2


def test_evaluate_gate_alone_names_its_index_when_given() -> None:
    gate = GateSpec(type=GateType.beats_champion)
    with pytest.raises(RegistryError, match=r"^registry\.gates\[3\]\.metric: "):
        evaluate_gate(gate, ctx(facts()), index=3)
    with pytest.raises(RegistryError, match=r"^registry\.gate\.metric: "):
        check_gate(gate)
    assert check_gate(GateSpec(type="manual_approval")) is GateType.manual_approval  # type: ignore[arg-type]
