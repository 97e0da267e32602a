"""Whether a monitoring result triggers a retrain: pure functions over the latest ``violations.json``, the
``retrain`` spec, the earlier retrains and the current time.

result = monitoring_result(json.loads(path.read_text()), source=str(path))
decision = decide(result, spec.retrain, past, now)
decision.retrain, decision.reason, decision.breach_ids

The rules, in the order they are asked (the first that says no is the reason):

1. ``trigger: manual``: only report (what ``on_breach`` would decide is in the details).
2. kinds: only violations of a kind in ``when`` count (``quality`` stands for every data quality check).
3. idempotence: a breach id recorded on an earlier retrain's run never triggers again.
4. hysteresis: at least ``breached`` of the last ``of`` chunks have a counted violation; the chunks are the
   report's ``chunks`` (else the labels its violations carry, in label order); violations judged on the whole
   data (no chunk) count as one chunk of their own, the latest.
5. cooldown: no retrain within ``cooldown_hours`` of the latest earlier retrain's start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hydraops.config.schemas.lifecycle import BreachKind, RetrainSpec, RetrainTrigger

#: The checks ``when: [quality]`` stands for.
QUALITY_CHECKS = frozenset({"null_share", "out_of_range", "missing_column", "feature_missing"})
#: The chunk of violations judged on the whole data.
WHOLE = None


@dataclass(frozen=True)
class Breach:
    """One violation of violations.json, as the policy sees it."""

    id: str
    check: str
    feature: str | None = None
    chunk: str | None = None


@dataclass(frozen=True)
class MonitoringResult:
    """The latest monitoring result: the model version judged, its breaches, its chunks (in time order) and what
    triggered a retrain is recorded as (``trigger``: the monitoring run id, else the report and its digest)."""

    model: str
    version: str
    breaches: tuple[Breach, ...]
    trigger: str
    chunks: tuple[str, ...] = ()
    monitoring_run_id: str | None = None


@dataclass(frozen=True)
class PastRetrain:
    """An earlier retrain: its training run, when it started, the monitoring run and breaches that triggered it."""

    run_id: str
    started: datetime
    triggered_by: str = ""
    breach_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    """Retrain or not, and why: ``breach_ids`` are the breaches a retrain answers (recorded on its run)."""

    retrain: bool
    reason: str
    trigger: str
    breach_ids: tuple[str, ...] = ()
    details: tuple[str, ...] = field(default=())

    @property
    def tags(self) -> dict[str, str]:
        """What the retrain's run, version and registry decision are tagged with (``tracking.tags``)."""
        from hydraops.tracking import tags as T

        return {T.TRIGGERED_BY: self.trigger, T.BREACH_IDS: ",".join(self.breach_ids)} if self.retrain else {}


def monitoring_result(body: Mapping[str, Any], *, source: str, digest: str = "") -> MonitoringResult:
    """The policy's view of a parsed violations.json; ValueError naming the key when it is not one.
    ``source`` and ``digest`` name the report when it has no ``monitoring_run``."""
    if not isinstance(body, Mapping) or body.get("format") != 1:
        raise ValueError(f"{source}: expected violations.json format 1 (from `hydraops monitor`), got format {_format_of(body)!r}")
    try:
        breaches = tuple(
            Breach(str(v["id"]), str(v["check"]), v.get("feature"), None if v.get("chunk") is None else str(v["chunk"])) for v in body["violations"]
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"{source}: every entry of 'violations' needs an id and a check ({error})") from error
    chunks = tuple(str(c["label"] if isinstance(c, Mapping) else c) for c in body.get("chunks") or ())
    run_id = body.get("monitoring_run") or None
    trigger = run_id or (f"{source}@sha256:{digest[:16]}" if digest else source)
    return MonitoringResult(str(body.get("model", "")), str(body.get("version", "")), breaches, trigger, chunks, run_id)


def counts(check: str, when: Sequence[BreachKind | str]) -> bool:
    """Whether a violation of ``check`` is of a kind ``when`` names."""
    kinds = {str(kind) for kind in when}
    return check in kinds or ("quality" in kinds and check in QUALITY_CHECKS)


def chunk_sequence(result: MonitoringResult, counted: Sequence[Breach]) -> list[str | None]:
    """The chunks in time order: the report's ``chunks``, else its violations' labels sorted; ``None`` (the whole
    data) last, when a counted violation was judged on the whole data or the report has no chunks."""
    labels: list[str | None] = list(result.chunks) or sorted({b.chunk for b in result.breaches if b.chunk is not None})
    if any(b.chunk is WHOLE for b in counted) or not labels:
        labels.append(WHOLE)
    return labels


def decide(result: MonitoringResult, retrain: RetrainSpec, past: Sequence[PastRetrain], now: datetime) -> Decision:
    """Retrain or not, by the rules of this module's docstring (``now`` and ``past[*].started``: aware datetimes)."""
    found = sorted({b.check for b in result.breaches})
    counted = [b for b in result.breaches if counts(b.check, retrain.when)]

    def said(retrain_: bool, reason: str, ids: Sequence[str] = (), *details: str) -> Decision:
        return Decision(retrain_, reason, result.trigger, tuple(ids), details)

    if retrain.trigger is RetrainTrigger.manual or str(retrain.trigger) == "manual":
        would = decide(result, _on_breach(retrain), past, now)
        return said(False, "retrain.trigger is manual: only reporting", (), f"on_breach would {'retrain' if would.retrain else 'not retrain'}: {would.reason}")
    if not result.breaches:
        return said(False, f"no breach in the monitoring result of {result.model} v{result.version}")
    if not counted:
        kinds = ", ".join(str(kind) for kind in retrain.when) or "none"
        return said(False, f"no breach of a kind in retrain.when ({kinds}); found: {', '.join(found)}")
    handled = {breach_id: run.run_id for run in past for breach_id in run.breach_ids}
    new = [b for b in counted if b.id not in handled]
    if not new:
        runs = ", ".join(sorted({handled[b.id] for b in counted}))
        return said(False, f"already retrained for these {len(counted)} breach(es): run {runs}")
    window = retrain.hysteresis
    latest = chunk_sequence(result, counted)[-window.of :]
    hit = sum(1 for label in latest if label in {b.chunk for b in counted})
    chunks = f"{hit} of the last {len(latest)} chunk(s) breached"
    if hit < window.breached:
        return said(False, f"{chunks}; retrain.hysteresis needs {window.breached} of {window.of}")
    if past and retrain.cooldown_hours > 0:
        last = max(past, key=lambda run: run.started)
        until = last.started + timedelta(hours=retrain.cooldown_hours)
        if now < until:
            return said(False, f"cooldown: the last retrain (run {last.run_id}) started {_ago(now - last.started)} ago; "
                               f"retrain.cooldown_hours={retrain.cooldown_hours:g} ends at {until.isoformat(timespec='seconds')}")  # fmt: skip
    ids = list(dict.fromkeys(b.id for b in new))
    kinds = sorted({b.check for b in new})
    return said(True, f"{len(ids)} new breach(es) of {', '.join(kinds)}; {chunks}", ids)


def _on_breach(retrain: RetrainSpec) -> RetrainSpec:
    from dataclasses import replace

    return replace(retrain, trigger=RetrainTrigger.on_breach)


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"


def _format_of(body: Any) -> Any:
    return body.get("format") if isinstance(body, Mapping) else type(body).__name__


__all__ = ["QUALITY_CHECKS", "Breach", "Decision", "MonitoringResult", "PastRetrain", "chunk_sequence", "counts", "decide", "monitoring_result"]
