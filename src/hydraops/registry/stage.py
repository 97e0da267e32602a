"""The registry stage: promote the candidate through the declared gates, or roll the champion back.

Planning reads aliases, versions, run metrics and the audit log (through ``Tracking.reader``: no MLflow
import on an embedded SQLite store), and evaluates every gate that needs no model file; the gates that do
(size, predict latency) and the sha256 check are measured at apply, where the decision is taken again on
the same candidate, through the MlflowClient, and carried out by compare-and-set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from hydraops.config.secrets import redact_url
from hydraops.errors import RegistryError
from hydraops.plan.context import RunContext
from hydraops.plan.model import Action, Effect, Outcome, Result
from hydraops.tracking import tags as T
from hydraops.tracking.reading import TrackingReader

#: The version tags of its latest decision (hydraops.registry.promote writes them).
_DECISION_STATE, _DECISION_DIGEST, _DECISION_GATES = (T.PROMOTION_PREFIX + key for key in ("state", "config_digest", "gates"))


@dataclass(frozen=True, kw_only=True)
class Promote(Action):
    """Decide on ``version`` (None: the version the training run planned before registers) and, when the gates
    pass, move ``target`` to it; ``moves`` are the alias moves as planned from today's aliases."""

    stage: ClassVar[str] = "registry"
    model: str
    target: str
    version: str | None
    why: str
    moves: tuple[tuple[str, str | None], ...] = ()
    approve: bool = False
    registry: str = ""
    champion: str | None = None
    gates: tuple[tuple[str, str, str, str], ...] = ()  # (gate, value, threshold, pass | fail | at apply)
    passes: bool | None = None  # the planned verdict; None: decided at apply

    @property
    def name(self) -> str:
        return f"promote {self.model} {'v' + self.version if self.version else '(the new version)'} to {self.target}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (f"model {self.model} {'v' + self.version if self.version else ': the version train registers'} ({self.why})",)

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.registry,)


@dataclass(frozen=True, kw_only=True)
class Rollback(Action):
    """Move ``champion`` back to ``version`` (the previous champion), recorded like a promotion."""

    stage: ClassVar[str] = "registry"
    model: str
    version: str
    moves: tuple[tuple[str, str | None], ...] = ()
    registry: str = ""

    @property
    def name(self) -> str:
        return f"roll {self.model} back to v{self.version}"

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.registry,)


def plan(spec, ctx: RunContext, *, earlier: tuple[Action, ...] = (), version: int | None = None,
         approve: bool = False, rollback: bool = False, required: bool = False) -> list[Action]:  # fmt: skip
    """The promotion (or rollback) the registry would see today. ``required`` (the promote and rollback verbs):
    a registry with nothing to decide about is an error; otherwise (plan, apply) the action is a skip saying why."""
    from hydraops.registry.promote import describe_moves, propose_promotion, propose_rollback

    registry, where = spec.registry, redact_url(spec.stack.registry_uri or spec.stack.tracking_uri)
    gates = ", ".join(str(gate.type) for gate in registry.gates) or "none"
    notes = (f"candidate: {registry.candidate.strategy}; gates: {gates}",)
    trains = any(a.stage == "train" and a.effect is Effect.create for a in earlier) and not rollback and version is None
    if trains:
        measured = "every gate is evaluated at apply, on the version train registers"
        return [Promote(effect=Effect.update, model=registry.name, target=registry.on_pass, version=None, why=f"{registry.candidate.strategy} after training",
                        approve=approve, registry=where, notes=(*notes, measured))]  # fmt: skip
    missing = ctx.tracking.missing_store()
    if missing is not None:
        return _nothing(required, f"no registry yet: {missing} does not exist; run `hydraops train` first", registry.name, where, notes)
    reader = ctx.tracking.reader()
    if reader.registered_model(registry.name) is None:
        return _nothing(required, f"no registered model '{registry.name}' in the registry: run `hydraops train` first", registry.name, where, notes)
    if rollback:
        proposal = propose_rollback(reader, registry)
        return [Rollback(effect=Effect.update, model=registry.name, version=proposal.candidate.version, moves=tuple(proposal.moves.items()),
                         registry=where, notes=(proposal.candidate.why, f"would move {describe_moves(proposal.moves)}"))]  # fmt: skip
    proposal = propose_promotion(reader, registry, spec.project, version=version, approve=approve, measure=False)
    candidate = proposal.candidate
    action = dict(model=registry.name, target=registry.on_pass, version=candidate.version, why=candidate.why,
                  moves=tuple(proposal.moves.items()), approve=approve, registry=where)  # fmt: skip
    if proposal.nothing_to_do:
        return [Promote(effect=Effect.skip, **action, notes=(*notes, f"v{candidate.version} is already {proposal.target}"))]
    rejected = None if required else _rejected_before(reader, registry.name, candidate.version, ctx.config_digest)
    if rejected:
        return [Promote(effect=Effect.skip, **action, notes=(*notes, rejected))]
    rows = tuple(proposal.decision.table_rows()) + tuple((gate, "-", "-", "at apply") for gate in _measured(registry))
    passes = False if not proposal.decision.passed else None if _measured(registry) else True
    verdict = {True: f"would move {describe_moves(proposal.moves)}", False: "would be rejected: nothing would move",
               None: f"would move {describe_moves(proposal.moves)} if the gates measured at apply pass"}[passes]  # fmt: skip
    champion = proposal.aliases_before.get("champion")
    summary = f"v{candidate.version} ({candidate.why}); champion: {'v' + champion if champion else 'none'}; {verdict}"
    lines = tuple(f"{gate}: {value} (threshold {threshold}) {result}" for gate, value, threshold, result in rows)
    return [Promote(effect=Effect.update, **action, champion=champion, gates=rows, passes=passes, notes=(*notes, summary, *lines))]


def promote(action: Promote, ctx: RunContext) -> Result:
    """Decide again on the planned candidate, measuring what the plan could not, then move the aliases (or
    record the rejection). The Result's value is ``(proposal, audit entry | None)``."""
    from hydraops.registry.facts import Candidate, pick_candidate
    from hydraops.registry.promote import apply, describe_moves, propose_promotion

    spec, client = ctx.spec, ctx.tracking.client
    registry = spec.registry
    if action.version is None:  # the version the training run before this one registered
        candidate = pick_candidate(client, registry.name, spec.project, registry.candidate)
    else:
        candidate = Candidate(action.version, client.get_model_version(registry.name, action.version).run_id, action.why)
    proposal = propose_promotion(client, registry, spec.project, approve=action.approve, pinned=candidate)
    if proposal.nothing_to_do:
        return Result(action, Outcome.skipped, f"v{candidate.version} is already {proposal.target}", (proposal, None))
    entry = apply(client, proposal, experiment_id=_audit_experiment(ctx), config_digest=ctx.config_digest, actor=ctx.actor, tags=ctx.tags)
    if entry.outcome == "rejected":
        failed = ", ".join(result.gate for result in proposal.decision.failures)
        summary = f"{proposal.model} v{candidate.version} not promoted: failed {failed}; nothing moved; recorded as decision {entry.id}"
        return Result(action, Outcome.rejected, summary, (proposal, entry))
    return Result(action, Outcome.done, f"decision {entry.id}: {describe_moves(entry.moves)}", (proposal, entry))


def rollback(action: Rollback, ctx: RunContext) -> Result:
    """Roll back as planned: the aliases must still be where the plan saw them (compare-and-set)."""
    from hydraops.registry.promote import apply, describe_moves, propose_rollback

    proposal = propose_rollback(ctx.tracking.client, ctx.spec.registry)
    if tuple(proposal.moves.items()) != action.moves:
        raise RegistryError(f"model '{action.model}': the aliases moved since the plan (it would now move "
                            f"{describe_moves(proposal.moves)}); plan again")  # fmt: skip
    entry = apply(ctx.tracking.client, proposal, experiment_id=_audit_experiment(ctx), config_digest=ctx.config_digest, actor=ctx.actor)
    return Result(action, Outcome.done, f"decision {entry.id}: {describe_moves(entry.moves)}", (proposal, entry))


def _nothing(required: bool, why: str, model: str, where: str, notes: tuple[str, ...]) -> list[Action]:
    if required:
        raise RegistryError(why)
    return [Promote(effect=Effect.skip, model=model, target="", version=None, why="nothing to promote", registry=where, notes=(*notes, why))]


def _measured(registry) -> list[str]:
    from hydraops.config.schemas.lifecycle import GateType
    from hydraops.registry.promote import MEASURED

    return [str(gate.type) for gate in registry.gates if GateType(gate.type) in MEASURED]


def _rejected_before(reader: TrackingReader, model: str, version: str, config_digest: str) -> str | None:
    """Why not to decide again: the version's latest decision rejected it under the same config."""
    found = reader.version(model, version)
    tags = found.tags if found is not None else {}
    if tags.get(_DECISION_STATE) == "rejected" and tags.get(_DECISION_DIGEST) == config_digest:
        failed = [row[0] for row in json.loads(tags.get(_DECISION_GATES, "[]")) if row[-1] == "fail"]
        return (f"v{version} was rejected under this config (failed {', '.join(failed) or 'a gate'}): nothing new to decide; "
                f"`hydraops promote version={version}` decides again")  # fmt: skip
    return None


def _audit_experiment(ctx: RunContext) -> str:
    """The experiment holding the audit log, created on the first decision that is recorded."""
    from hydraops.tracking.runs import ensure_experiment

    return ensure_experiment(ctx.tracking.client, f"{ctx.spec.project}-registry", ctx.spec.stack.artifact_location)


__all__ = ["Promote", "Rollback", "plan", "promote", "rollback"]
