"""Promotion gates: pure functions that decide whether a candidate model version may be promoted.

    context = GateContext(candidate=facts, champion=champion_facts_or_None, approve=False)
    decision = evaluate_gates(spec.gates, context)
    decision.passed, decision.table_rows()   # [(gate, value, threshold, "pass" | "fail"), ...]

No MLflow and no I/O: the caller gathers the ``ModelFacts`` of the candidate and of the champion; moving
aliases happens elsewhere. Every gate spec is checked before any gate is evaluated (whatever the champion
state): a gate missing a field it needs raises ``RegistryError`` naming ``registry.gates[i].<field>``.

Metrics are keyed ``"{split}.{metric}"``, per slice value ``"{split}.{column}:{value}.{metric}"``; a NaN counts
as missing. "Better" means higher, except for ``LOWER_IS_BETTER`` metrics (log_loss, brier, rmse, mae). An
improvement / drop is a difference, so it is compared with a tolerance of ``TOLERANCE`` (1e-12): 0.81 - 0.80
counts as 0.01. A result's ``value`` is the quantity compared against its ``threshold``. Gates:

- ``metric_threshold`` (needs metric, value): candidate ``{split}.{metric}`` ``op`` value, op in ge/gt/le/lt,
  compared exactly. A missing candidate metric fails, naming the key.
- ``beats_champion`` (needs metric): passes when there is no champion (candidate metric not looked at), or
  when the champion lacks the metric (nothing to beat; said in the reason). Otherwise a missing candidate
  metric fails. improvement = candidate - champion in the better direction, divided by |champion| when
  ``relative`` (a champion of exactly 0 gives +inf, 0 or -inf by the sign of the difference); passes iff
  improvement >= min_delta. So min_delta == 0: at least as good (a tie passes); min_delta > 0: strictly better
  by at least min_delta (a tie fails; A beating B then means B does not beat A); min_delta < 0: a tolerance,
  may be that much worse.
- ``no_slice_regression`` (needs metric, slices, max_drop): passes when there is no champion. Otherwise every
  candidate key ``{split}.{column}:*.{metric}``, column in ``slices``, is compared with the champion's same key:
  drop = champion - candidate in the better direction (absolute; ``relative`` is not used) must be <= max_drop.
  Keys found on one side only are named in the reason and ignored, but a column with no candidate key at all
  fails (the gate would check nothing: a typo, or slices not evaluated). Value: the largest drop, or None.
- ``data_checks_passed``: passes iff candidate.data_checks_passed is True; None fails as "unknown".
- ``max_model_size_mb`` / ``max_predict_latency_ms`` (need value): candidate size_mb / predict_latency_p99_ms
  <= value; None (or NaN) fails as "not measured".
- ``manual_approval``: passes iff ``approve=true`` was given (context.approve) or the candidate has the approval tag.

A decision passes iff every gate passes; no gates: it passes.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from hydraops.config.schemas.lifecycle import GateSpec, GateType, Op
from hydraops.errors import RegistryError

__all__ = [
    "LOWER_IS_BETTER", "TOLERANCE", "Decision", "GateContext", "GateResult", "ModelFacts", "RegistryError",
    "check_gate", "evaluate_gate", "evaluate_gates",
]  # fmt: skip

LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae"})
TOLERANCE = 1e-12
_OPS: dict[Op, tuple[Callable[[float, float], bool], str]] = {
    Op.ge: (operator.ge, ">="), Op.gt: (operator.gt, ">"), Op.le: (operator.le, "<="), Op.lt: (operator.lt, "<"),
}  # fmt: skip
_NEEDS: dict[GateType, tuple[str, ...]] = {  # the fields a gate type cannot do without
    GateType.metric_threshold: ("metric", "value"), GateType.beats_champion: ("metric",),
    GateType.no_slice_regression: ("metric", "slices", "max_drop"),
    GateType.max_model_size_mb: ("value",), GateType.max_predict_latency_ms: ("value",),
}  # fmt: skip


@dataclass(frozen=True)
class ModelFacts:
    """What the gates know of one model version; ``metrics`` is copied into a read-only mapping."""

    version: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    size_mb: float | None = None
    predict_latency_p99_ms: float | None = None
    data_checks_passed: bool | None = None
    approved: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))


@dataclass(frozen=True)
class GateContext:
    candidate: ModelFacts
    champion: ModelFacts | None = None
    approve: bool = False


@dataclass(frozen=True)
class GateResult:
    gate: str
    value: float | str | None
    threshold: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    """Every gate's result, in declared order; ``passed`` iff all passed (no gates: passed)."""

    results: tuple[GateResult, ...]
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(self.results))
        object.__setattr__(self, "passed", all(result.passed for result in self.results))

    @property
    def failures(self) -> tuple[GateResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    def table_rows(self) -> list[tuple[str, str, str, str]]:
        """``(gate, value, threshold, "pass" | "fail")`` per gate, as strings for printing."""
        return [(r.gate, _show(r.value), r.threshold, "pass" if r.passed else "fail") for r in self.results]


def check_gate(gate: GateSpec, index: int | None = None) -> GateType:
    """The gate's type, once the spec has every field that type needs; else ``RegistryError``."""
    where = "registry.gate" if index is None else f"registry.gates[{index}]"
    try:
        kind = GateType(gate.type)
    except ValueError:
        expected = ", ".join(GateType)
        raise RegistryError(f"{where}.type: unknown gate type {gate.type!r}; expected one of: {expected}") from None
    for name in _NEEDS.get(kind, ()):
        value = getattr(gate, name)
        if value is None or (isinstance(value, (str, list, tuple)) and not value):
            raise RegistryError(f"{where}.{name}: required by a {kind} gate")
    for name in ("value", "min_delta", "max_drop"):
        value = getattr(gate, name)
        if value is not None and not math.isfinite(value):
            raise RegistryError(f"{where}.{name}: must be a finite number, got {value!r}")
    if kind is GateType.metric_threshold and gate.op not in set(Op):
        raise RegistryError(f"{where}.op: unknown operator {gate.op!r}; expected one of: {', '.join(Op)}")
    return kind


def evaluate_gate(gate: GateSpec, context: GateContext, *, index: int | None = None) -> GateResult:
    """One gate's result; ``index`` is the gate's place in ``registry.gates``, for error messages."""
    kind = check_gate(gate, index)
    return _EVALUATORS[kind](gate, _name(kind, gate), context)


def evaluate_gates(gates: Sequence[GateSpec], context: GateContext) -> Decision:
    """Check every gate spec, then evaluate them all (no short-circuit: the table shows every gate)."""
    kinds = [check_gate(gate, index) for index, gate in enumerate(gates)]
    return Decision(tuple(_EVALUATORS[k](gate, _name(k, gate), context) for k, gate in zip(kinds, gates)))


def _name(kind: GateType, gate: GateSpec) -> str:
    if kind in (GateType.metric_threshold, GateType.beats_champion):
        return f"{kind} {gate.split}.{gate.metric}"
    if kind is GateType.no_slice_regression:
        return f"{kind} {gate.split}.{gate.metric} by {', '.join(gate.slices)}"
    return str(kind)


def _show(value: float | str | None) -> str:
    return "-" if value is None else value if isinstance(value, str) else f"{value:.6g}"


def _metric(facts: ModelFacts, key: str) -> float | None:
    value = facts.metrics.get(key)
    return None if value is None or math.isnan(value) else float(value)


def _better_by(metric: str, candidate: float, champion: float) -> float:
    """How much better ``candidate`` is than ``champion`` (negative: worse)."""
    return champion - candidate if metric in LOWER_IS_BETTER else candidate - champion


def _metric_threshold(gate: GateSpec, name: str, context: GateContext) -> GateResult:
    key = f"{gate.split}.{gate.metric}"
    compare, symbol = _OPS[Op(gate.op)]
    threshold = f"{symbol} {gate.value:g}"
    value = _metric(context.candidate, key)
    if value is None:
        return GateResult(name, None, threshold, False, f"candidate has no metric {key!r}")
    passed = compare(value, gate.value)
    return GateResult(name, value, threshold, passed, f"{key} {value:.6g} {'is' if passed else 'is not'} {threshold}")


def _beats_champion(gate: GateSpec, name: str, context: GateContext) -> GateResult:
    key = f"{gate.split}.{gate.metric}"
    threshold = f"improvement >= {gate.min_delta:g}{' (relative)' if gate.relative else ''}"
    if context.champion is None:
        return GateResult(name, None, threshold, True, "no champion yet")
    champion = _metric(context.champion, key)
    if champion is None:
        return GateResult(name, None, threshold, True, f"champion v{context.champion.version} has no metric {key!r}")
    candidate = _metric(context.candidate, key)
    if candidate is None:
        return GateResult(name, None, threshold, False, f"candidate has no metric {key!r}")
    delta = _better_by(gate.metric, candidate, champion)
    if gate.relative:
        delta = delta / abs(champion) if champion else math.copysign(math.inf, delta) if delta else 0.0
    passed = delta >= gate.min_delta - TOLERANCE
    reason = (f"{key}: candidate {candidate:.6g} vs champion v{context.champion.version} {champion:.6g}, "
              f"improvement {delta:+.6g} {'>=' if passed else '<'} {gate.min_delta:g}")  # fmt: skip
    return GateResult(name, delta, threshold, passed, reason)


def _slice_keys(metrics: Mapping[str, float], split: str, column: str, metric: str) -> set[str]:
    prefix, suffix = f"{split}.{column}:", f".{metric}"
    shortest = len(prefix) + len(suffix)  # a slice value may itself contain dots: match both ends
    return {
        key for key, value in metrics.items()
        if key.startswith(prefix) and key.endswith(suffix) and len(key) >= shortest and not math.isnan(value)
    }  # fmt: skip


def _listing(keys: list[str], most: int = 5) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:most]) + (f" (+{len(keys) - most} more)" if len(keys) > most else "")


def _no_slice_regression(gate: GateSpec, name: str, context: GateContext) -> GateResult:
    threshold = f"drop <= {gate.max_drop:g} per slice"
    if context.champion is None:
        return GateResult(name, None, threshold, True, "no champion yet")
    candidate, champion = context.candidate.metrics, context.champion.metrics
    drops: dict[str, float] = {}
    unsliced, only_candidate, only_champion = [], [], []
    for column in gate.slices:
        ours = _slice_keys(candidate, gate.split, column, gate.metric)
        theirs = _slice_keys(champion, gate.split, column, gate.metric)
        unsliced += [] if ours else [f"{gate.split}.{column}:*.{gate.metric}"]
        drops |= {key: -_better_by(gate.metric, candidate[key], champion[key]) for key in ours & theirs}
        only_candidate += ours - theirs
        only_champion += theirs - ours
    failing = [key for key, drop in drops.items() if drop > gate.max_drop + TOLERANCE]
    worst = max(drops, key=drops.__getitem__) if drops else None
    parts = [f"candidate has no slice metric {_listing(unsliced)}"] if unsliced else []
    if failing:
        parts.append("regressed: " + ", ".join(f"{key} by {drops[key]:.6g}" for key in sorted(failing)))
    elif worst is not None:
        parts.append(f"{len(drops)} slices compared, largest drop {drops[worst]:+.6g} ({worst})")
    else:
        parts.append("no slice on both sides")
    if only_candidate:
        parts.append(f"ignored, not on champion v{context.champion.version}: {_listing(only_candidate)}")
    if only_champion:
        parts.append(f"ignored, not on candidate: {_listing(only_champion)}")
    value = None if worst is None else drops[worst]
    return GateResult(name, value, threshold, not failing and not unsliced, "; ".join(parts))


def _data_checks_passed(gate: GateSpec, name: str, context: GateContext) -> GateResult:
    state = context.candidate.data_checks_passed
    value = "unknown" if state is None else "passed" if state else "failed"
    return GateResult(name, value, "passed", state is True, f"training run's data checks: {value}")


def _measured(attribute: str, unit: str) -> Callable[[GateSpec, str, GateContext], GateResult]:
    def evaluate(gate: GateSpec, name: str, context: GateContext) -> GateResult:
        threshold = f"<= {gate.value:g} {unit}"
        value = getattr(context.candidate, attribute)
        if value is None or math.isnan(value):
            return GateResult(name, None, threshold, False, f"{attribute} not measured")
        passed = value <= gate.value
        reason = f"{attribute} {value:.6g} {unit} {'<=' if passed else '>'} {gate.value:g}"
        return GateResult(name, float(value), threshold, passed, reason)

    return evaluate


def _manual_approval(gate: GateSpec, name: str, context: GateContext) -> GateResult:
    value = "approve=true" if context.approve else "approval tag" if context.candidate.approved else "not approved"
    passed = bool(context.approve or context.candidate.approved)
    return GateResult(name, value, "approve=true or approval tag", passed, f"approval: {value}")


_EVALUATORS: dict[GateType, Callable[[GateSpec, str, GateContext], GateResult]] = {
    GateType.metric_threshold: _metric_threshold,
    GateType.beats_champion: _beats_champion,
    GateType.no_slice_regression: _no_slice_regression,
    GateType.data_checks_passed: _data_checks_passed,
    GateType.max_model_size_mb: _measured("size_mb", "MB"),
    GateType.max_predict_latency_ms: _measured("predict_latency_p99_ms", "ms"),
    GateType.manual_approval: _manual_approval,
}
