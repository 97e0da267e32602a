"""The audit log of a registered model: every promotion and rollback decision, kept in the registry.

Two records of the same entries, both written while the model's lock is held:

- a tag history on the registered model: ``hydraops.audit.00001``, ``hydraops.audit.00002``... each a
  compact JSON entry (what ``hydraops registry show`` reads);
- a JSON artifact, ``audit_log.json`` (every entry in full, gate reasons included), on an MLflow run of its
  own in the experiment ``<project>-registry``, named ``audit <model>``; the model's ``hydraops.audit_run``
  tag names that run.

An applied decision is written twice: ``pending`` before any alias moves, ``applied`` after. A ``pending``
entry with no ``applied`` entry of the same id after it is a decision that crashed half-way: the aliases
are as they were, and promoting again completes it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from hydraops.tracking.reading import reading
from hydraops.tracking.tags import AUDIT_OF
from hydraops.tracking.tags import AUDIT_PREFIX as AUDIT_TAG_PREFIX
from hydraops.tracking.tags import AUDIT_RUN as AUDIT_RUN_TAG

AUDIT_ARTIFACT = "audit_log.json"
_SEQ_DIGITS = 5


@dataclass(frozen=True)
class AuditEntry:
    """One decision about a registered model's aliases.

    ``outcome``: ``pending`` (aliases about to move), ``applied``, ``rejected`` (a gate failed),
    ``conflict`` (the aliases changed since the decision). ``moves``: alias → new version (None: removed).
    ``tags``: what started the decision (a retrain's ``TRIGGERED_BY`` and ``BREACH_IDS``), also on the version.
    """

    id: str
    action: str  # promote | rollback
    model: str
    version: str
    outcome: str
    who: str
    when: str
    config_digest: str
    aliases_before: dict[str, str] = field(default_factory=dict)
    moves: dict[str, str | None] = field(default_factory=dict)
    gates: list[dict] = field(default_factory=list)
    note: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # lineage of the decision: a retrain's trigger and breach ids

    def summary(self) -> dict:
        """The tag form: everything but the gate reasons, failed gates by name."""
        data = {k: v for k, v in asdict(self).items() if k != "gates"}
        data["failed"] = [gate["gate"] for gate in self.gates if not gate["passed"]]
        data["note"] = self.note[:500]
        if not self.tags:
            del data["tags"]
        return data


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def read_history(source, model: str) -> list[dict]:
    """The model's audit entries from its tag history, oldest first (summaries: no gate reasons); none for a
    model not in the registry. ``source``: a TrackingReader (``tracking.reading``) or an MlflowClient."""
    found = reading(source).registered_model(model)
    tags = found.tags if found is not None else {}
    keys = sorted(key for key in tags if key.startswith(AUDIT_TAG_PREFIX))
    return [json.loads(tags[key]) for key in keys]


def append(client, model: str, entry: AuditEntry, *, experiment_id: str) -> None:
    """Append ``entry`` to the tag history and to the JSON artifact. Call it holding the model's lock."""
    tags = client.get_registered_model(model).tags
    seq = 1 + sum(1 for key in tags if key.startswith(AUDIT_TAG_PREFIX))
    value = json.dumps(entry.summary(), separators=(",", ":"), sort_keys=True)
    client.set_registered_model_tag(model, f"{AUDIT_TAG_PREFIX}{seq:0{_SEQ_DIGITS}d}", value)
    run_id = tags.get(AUDIT_RUN_TAG) or _create_audit_run(client, model, experiment_id)
    entries = read_full_log(client, run_id)
    entries.append(asdict(entry))
    client.log_text(run_id, json.dumps(entries, indent=2), AUDIT_ARTIFACT)


def read_full_log(client, run_id: str) -> list[dict]:
    """Every entry of the JSON artifact, gate reasons included ([] before the first one)."""
    from pathlib import Path

    names = {artifact.path for artifact in client.list_artifacts(run_id)}
    if AUDIT_ARTIFACT not in names:
        return []
    return json.loads(Path(client.download_artifacts(run_id, AUDIT_ARTIFACT)).read_text())


def half_done(history: list[dict]) -> list[dict]:
    """The ``pending`` entries never followed by an ``applied`` (or ``conflict``) entry of the same id."""
    closed = {entry["id"] for entry in history if entry["outcome"] != "pending"}
    return [entry for entry in history if entry["outcome"] == "pending" and entry["id"] not in closed]


def _create_audit_run(client, model: str, experiment_id: str) -> str:
    run = client.create_run(experiment_id, run_name=f"audit {model}", tags={AUDIT_OF: model})
    client.set_terminated(run.info.run_id, "FINISHED")  # a record, not a job: never left RUNNING
    client.set_registered_model_tag(model, AUDIT_RUN_TAG, run.info.run_id)
    return run.info.run_id
