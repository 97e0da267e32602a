"""Promotion and rollback as MLflow alias moves: decide, then apply by compare-and-set under the model's lock.

    proposal = propose_promotion(client, spec.registry, spec.project)  # reads only
    entry = apply(client, proposal, experiment_id=..., config_digest=...)  # moves aliases, or raises

Deciding only reads: it takes an ``MlflowClient`` or any ``TrackingReader`` (``tracking.reading``), which is how
``plan`` decides without importing MLflow; measuring the model's files and applying need the client.

Deciding reads the candidate's facts (its files checked against their sha256 first) and the aliases as
they are. Applying takes the model's lock (``registry.lock``), re-reads the aliases and raises
``RegistryConflict`` if any changed since the decision; otherwise it tags the version and writes a
``pending`` audit entry, moves the aliases (``champion`` last: that move is the commit point), then marks
the version and the audit log ``applied``. A crash in between leaves a ``pending`` entry and the aliases as
far as the moves got (``registry.report.HalfDone`` tells which); promoting (or rolling back) again finds it
and completes it under the same decision id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

from hydraops.config.schemas.lifecycle import GateType, RegistrySpec
from hydraops.errors import RegistryConflict, RegistryError
from hydraops.registry import audit
from hydraops.registry.audit import AuditEntry
from hydraops.registry.facts import Candidate, pick_candidate, version_facts
from hydraops.registry.gates import Decision, GateContext, evaluate_gates
from hydraops.registry.lock import default_actor, registry_lock
from hydraops.tracking.reading import TrackingReader, reading
from hydraops.tracking.tags import PROMOTION_PREFIX as TAG

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"


@dataclass(frozen=True)
class Proposal:
    """A decision not yet applied: the candidate, the gates' verdict, and the alias moves it implies.

    ``aliases_before`` is what the decision saw; ``moves`` maps an alias to its new version (None: removed);
    no moves means the candidate already holds the alias. ``resumes`` is the id of a half-done decision
    about the same version that this one completes."""

    action: str  # promote | rollback
    model: str
    candidate: Candidate
    target: str
    decision: Decision
    aliases_before: dict[str, str]
    moves: dict[str, str | None] = field(default_factory=dict)
    resumes: str | None = None
    abandoned: tuple[str, ...] = ()  # half-done decisions about other versions, closed when this one applies

    @property
    def nothing_to_do(self) -> bool:
        """The candidate already holds the alias and no half-done decision about it is left to close."""
        return not self.moves and self.resumes is None


def describe_moves(moves: dict[str, str | None]) -> str:
    """``previous → v1, champion → v2`` (``removed`` for an alias taken away)."""
    return ", ".join(f"{alias} → {'v' + v if v else 'removed'}" for alias, v in moves.items()) or "no alias moved"


def aliases_of(source, model: str) -> dict[str, str]:
    """The model's aliases: alias → version; RegistryError when the registry has no such model. ``source``: a
    TrackingReader or an MlflowClient."""
    found = reading(source).registered_model(model)
    if found is None:
        raise RegistryError(f"no registered model '{model}' in the registry: run `hydraops train` first")
    return dict(found.aliases)


#: Gates that need the model's files (downloaded, checked, loaded): a plan leaves them to apply.
MEASURED = frozenset({GateType.max_model_size_mb, GateType.max_predict_latency_ms})


def propose_promotion(source, registry: RegistrySpec, experiment: str, *, version: int | None = None,
                      approve: bool = False, measure: bool = True, pinned: Candidate | None = None) -> Proposal:  # fmt: skip
    """Pick the candidate (or take the ``pinned`` one), gather its facts and the champion's, evaluate the gates;
    moves nothing. Without ``measure`` nothing is downloaded: the candidate's files are not checked and the
    ``MEASURED`` gates are left out of the decision (a plan says they are measured at apply). ``source``: an
    MlflowClient, or (without ``measure``) any TrackingReader."""
    reader = reading(source)
    if registry.on_pass not in (CHAMPION, CHALLENGER):
        raise RegistryError(f"registry.on_pass: '{registry.on_pass}' is not an alias a promotion gives; expected champion or challenger")
    candidate = pinned or pick_candidate(reader, registry.name, experiment, registry.candidate, version)
    aliases = aliases_of(reader, registry.name)
    history = audit.read_history(reader, registry.name)
    pending = audit.half_done(history)
    resumes = next((e["id"] for e in reversed(pending) if e["action"] == "promote" and e["version"] == candidate.version), None)
    abandoned = tuple(e["id"] for e in pending if e["id"] != resumes)
    if aliases.get(registry.on_pass) == candidate.version:
        return Proposal("promote", registry.name, candidate, registry.on_pass, Decision(()), aliases, {}, resumes, abandoned)
    gates = [gate for gate in registry.gates if measure or GateType(gate.type) not in MEASURED]
    latency = measure and any(GateType(gate.type) is GateType.max_predict_latency_ms for gate in gates)
    facts = version_facts(reader, registry.name, candidate.version, inspect_files=measure, measure_latency=latency)
    champion = aliases.get(CHAMPION)
    champion_facts = None if champion is None else version_facts(reader, registry.name, champion, inspect_files=False)
    decision = evaluate_gates(gates, GateContext(facts, champion_facts, approve))
    moves: dict[str, str | None] = {registry.on_pass: candidate.version}
    if registry.on_pass == CHAMPION:
        moves = {**({PREVIOUS: champion} if champion else {}), **({CHALLENGER: None} if aliases.get(CHALLENGER) == candidate.version else {}), **moves}
    return Proposal("promote", registry.name, candidate, registry.on_pass, decision, aliases, moves, resumes, abandoned)


def propose_rollback(source, registry: RegistrySpec) -> Proposal:
    """Champion back to the ``previous`` version; ``previous`` is cleared. No gates: it was champion before.
    A rollback that stopped half-way (and whose aliases nobody moved since) is completed instead. ``source``:
    a TrackingReader or an MlflowClient."""
    reader = reading(source)
    aliases = aliases_of(reader, registry.name)
    resumed = _half_done_rollback(reader, registry.name, aliases)
    if resumed is not None:
        return resumed
    previous, champion = aliases.get(PREVIOUS), aliases.get(CHAMPION)
    if champion is None:
        raise RegistryError(f"model '{registry.name}' has no '{CHAMPION}' to roll back from: promote a version first (hydraops promote)")
    if previous is None:
        raise RegistryError(f"model '{registry.name}' has no '{PREVIOUS}' version to roll back to (champion is v{champion}); "
                            "promote an explicit version instead: hydraops promote version=N")  # fmt: skip
    candidate = Candidate(previous, _run_of(reader, registry.name, previous), f"previous champion (champion now v{champion})")
    return Proposal("rollback", registry.name, candidate, CHAMPION, Decision(()), aliases, {PREVIOUS: None, CHAMPION: previous})


def _run_of(reader: TrackingReader, model: str, version: str) -> str:
    found = reader.version(model, version)
    if found is None:
        raise RegistryError(f"model '{model}' has no version {version} (an alias or the audit log names it)")
    return found.run_id


def _half_done_rollback(reader: TrackingReader, model: str, aliases: dict[str, str]) -> Proposal | None:
    """The rest of the latest rollback that stopped between its alias moves, if every alias it moves is
    still either where it found it or where it put it."""
    pending = [entry for entry in audit.half_done(audit.read_history(reader, model)) if entry["action"] == "rollback"]
    if not pending:
        return None
    entry = pending[-1]
    moves = entry["moves"]
    if any(aliases.get(a) not in (entry["aliases_before"].get(a), v) for a, v in moves.items()):
        return None  # moved since by another decision: not this rollback's to finish
    remaining = {alias: version for alias, version in moves.items() if aliases.get(alias) != version}
    candidate = Candidate(entry["version"], _run_of(reader, model, entry["version"]), "the target of a rollback that stopped half-way")
    return Proposal("rollback", model, candidate, CHAMPION, Decision(()), aliases, remaining, resumes=entry["id"])


def apply(client, proposal: Proposal, *, experiment_id: str, config_digest: str, actor: str = "",
          tags: Mapping[str, str] | None = None) -> AuditEntry:  # fmt: skip
    """Carry out the proposal in the name of ``actor`` (default: ``user@host``): records a rejection, or moves
    the aliases by compare-and-set. ``tags`` (a retrain's trigger) go on the audit entry and the version.

    Returns the ``applied`` (or ``rejected``) audit entry; raises RegistryConflict when the aliases changed
    since the decision (nothing moved; the conflict is in the audit log)."""
    entry = AuditEntry(
        id=proposal.resumes or uuid.uuid4().hex[:12], action=proposal.action, model=proposal.model,
        version=proposal.candidate.version, outcome="pending", who=actor or default_actor(), when=audit.now(),
        config_digest=config_digest, aliases_before=dict(proposal.aliases_before), moves=dict(proposal.moves),
        gates=[asdict(result) for result in proposal.decision.results],
        note=proposal.candidate.why + (f"; completes half-done decision {proposal.resumes}" if proposal.resumes else ""),
        tags=dict(tags or {}),
    )  # fmt: skip
    record = lambda e: audit.append(client, proposal.model, e, experiment_id=experiment_id)  # noqa: E731
    with registry_lock(client, proposal.model, who=actor):
        if not proposal.decision.passed:
            _tag_version(client, entry, "rejected", proposal)
            record(rejected := replace(entry, outcome="rejected"))
            return rejected
        current = aliases_of(client, proposal.model)
        changed = _changed(proposal.aliases_before, current, {*proposal.moves, CHAMPION, CHALLENGER, PREVIOUS})
        if changed:
            record(replace(entry, id=uuid.uuid4().hex[:12], outcome="conflict", note=f"aliases changed since the decision: {changed}"))
            raise RegistryConflict(
                f"model '{proposal.model}': aliases changed since the decision ({changed}); nothing moved. "
                "Another promotion got there first: look at `hydraops registry show`, then decide again."
            )
        _tag_version(client, entry, "pending", proposal)
        record(entry)
        _move_aliases(client, proposal.model, proposal.moves)
        _tag_version(client, entry, "applied", proposal)
        for stale in proposal.abandoned:
            record(replace(entry, id=stale, outcome="abandoned", note=f"superseded by decision {entry.id}"))
        record(applied := replace(entry, outcome="applied", when=audit.now()))
    return applied


def _changed(before: dict[str, str], now: dict[str, str], watched: set[str]) -> str:
    """``champion: v1 → v3, ...`` for the watched aliases that differ; empty when none does."""
    show = lambda v: f"v{v}" if v else "none"  # noqa: E731
    return ", ".join(f"{a}: {show(before.get(a))} → {show(now.get(a))}" for a in sorted(watched) if before.get(a) != now.get(a))


def _move_aliases(client, model: str, moves: dict[str, str | None]) -> None:
    """Removals and side moves first, ``champion`` last: until that move, the old champion serves."""
    for alias in sorted(moves, key=lambda a: a == CHAMPION):
        version = moves[alias]
        if version is None:
            client.delete_registered_model_alias(model, alias)
        else:
            client.set_registered_model_alias(model, alias, version)


def _tag_version(client, entry: AuditEntry, state: str, proposal: Proposal) -> None:
    """The latest decision about the version, as its tags (for the MLflow UI and ``registry show``)."""
    tags = {
        "decision": entry.id, "action": entry.action, "state": state, "alias": proposal.target,
        "passed": str(proposal.decision.passed).lower(), "by": entry.who, "at": entry.when,
        "config_digest": entry.config_digest, "gates": json.dumps(proposal.decision.table_rows()),
    }  # fmt: skip
    for key, value in tags.items():
        client.set_model_version_tag(entry.model, entry.version, TAG + key, value)
    for key, value in entry.tags.items():
        client.set_model_version_tag(entry.model, entry.version, key, value)
