"""Promotion and rollback against real MLflow stores: the embedded SQLite file and a server on PostgreSQL.

Each test registers its own model (a unique name) with chosen metrics, then promotes through the engine
(``propose_*`` + ``apply``) and reads everything back with ``MlflowClient``. Separate processes race and
crash in test_races.py."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from hydraops.config.schemas.lifecycle import CandidateSpec, GateSpec
from hydraops.errors import ModelIntegrityError, RegistryConflict, RegistryError
from hydraops.registry import audit
from hydraops.registry.lock import Holder, acquire, lock_name, registry_lock, release
from hydraops.registry.promote import TAG, aliases_of, apply, propose_promotion, propose_rollback
from tests.registry.support import BEATS, Store, register, registry_spec

pytestmark = pytest.mark.slow


@pytest.fixture
def model() -> str:
    return f"m_{uuid.uuid4().hex[:8]}"


def promote(store: Store, spec, **kwargs):
    client = store.client()
    proposal = propose_promotion(client, spec, store.experiment, **kwargs)
    return proposal, apply(client, proposal, experiment_id=store.experiment_id("churn-registry"), config_digest="d" * 64)


def test_first_promotion_records_tags_and_audit_log(store: Store, model: str) -> None:
    version = register(store, {"test.roc_auc": 0.8}, model=model)
    spec = registry_spec(BEATS, GateSpec(type="data_checks_passed"), name=model)
    proposal, entry = promote(store, spec)
    client = store.client()
    assert entry.outcome == "applied" and aliases_of(client, model) == {"champion": version}
    tags = client.get_model_version(model, version).tags
    assert tags[TAG + "state"] == "applied" and tags[TAG + "passed"] == "true" and tags[TAG + "decision"] == entry.id
    assert tags[TAG + "config_digest"] == "d" * 64 and tags[TAG + "by"] and tags[TAG + "at"]
    assert [row[0] for row in json.loads(tags[TAG + "gates"])] == ["beats_champion test.roc_auc", "data_checks_passed"]
    history = audit.read_history(client, model)
    assert [(e["outcome"], e["id"]) for e in history] == [("pending", entry.id), ("applied", entry.id)]
    assert not audit.half_done(history)
    run_id = client.get_registered_model(model).tags[audit.AUDIT_RUN_TAG]
    log = audit.read_full_log(client, run_id)
    assert [e["outcome"] for e in log] == ["pending", "applied"]
    assert log[1]["gates"][0]["reason"] == "no champion yet"
    assert client.get_run(run_id).info.status == "FINISHED"


def test_better_version_becomes_champion_old_one_previous_worse_one_moves_nothing(store: Store, model: str) -> None:
    spec = registry_spec(BEATS, name=model)
    v1 = register(store, {"test.roc_auc": 0.80}, model=model)
    promote(store, spec)
    v2 = register(store, {"test.roc_auc": 0.85}, model=model)
    _, entry = promote(store, spec)
    client = store.client()
    assert entry.moves == {"previous": v1, "champion": v2}
    assert aliases_of(client, model) == {"champion": v2, "previous": v1}
    v3 = register(store, {"test.roc_auc": 0.70}, model=model)
    proposal, rejected = promote(store, spec)
    assert not proposal.decision.passed and rejected.outcome == "rejected"
    assert aliases_of(client, model) == {"champion": v2, "previous": v1}, "a failed gate moves nothing"
    assert client.get_model_version(model, v3).tags[TAG + "passed"] == "false"
    assert audit.read_history(client, model)[-1]["failed"] == ["beats_champion test.roc_auc"]
    again, _ = promote(store, spec, version=int(v2))
    assert again.nothing_to_do


def test_rollback_and_its_record(store: Store, model: str) -> None:
    spec = registry_spec(name=model)
    v1 = register(store, {"test.roc_auc": 0.8}, model=model)
    v2 = register(store, {"test.roc_auc": 0.9}, model=model)
    promote(store, spec, version=int(v1))
    promote(store, spec, version=int(v2))
    client = store.client()
    entry = apply(client, propose_rollback(client, spec), experiment_id=store.experiment_id("churn-registry"), config_digest="r")
    assert aliases_of(client, model) == {"champion": v1}
    assert entry.action == "rollback" and entry.outcome == "applied"
    assert audit.read_history(client, model)[-1]["action"] == "rollback"
    with pytest.raises(RegistryError, match="no 'previous' version to roll back to"):
        propose_rollback(client, spec)


def test_aliases_changed_since_the_decision_is_a_conflict(store: Store, model: str) -> None:
    spec = registry_spec(BEATS, name=model)
    register(store, {"test.roc_auc": 0.8}, model=model)
    v2 = register(store, {"test.roc_auc": 0.9}, model=model)
    client = store.client()
    stale = propose_promotion(client, spec, store.experiment, version=1)
    promote(store, spec, version=int(v2))  # someone else promoted meanwhile
    with pytest.raises(RegistryConflict, match=r"champion: none → v2"):
        apply(client, stale, experiment_id=store.experiment_id("churn-registry"), config_digest="x")
    assert aliases_of(client, model) == {"champion": v2}
    assert audit.read_history(client, model)[-1]["outcome"] == "conflict"


def test_challenger_then_champion(store: Store, model: str) -> None:
    v1 = register(store, {"test.roc_auc": 0.8}, model=model)
    promote(store, registry_spec(BEATS, name=model, on_pass="challenger"))
    client = store.client()
    assert aliases_of(client, model) == {"challenger": v1}
    _, entry = promote(store, registry_spec(BEATS, name=model))
    assert entry.moves == {"challenger": None, "champion": v1}
    assert aliases_of(client, model) == {"champion": v1}


def test_tampered_model_is_never_loaded(store: Store, model: str) -> None:
    version = register(store, {"test.roc_auc": 0.8}, model=model, own_files=True)
    client = store.client()
    [weights] = [p for p in store.model_files(model, version) if p.name.startswith("model.")]
    weights.write_text(weights.read_text().replace("num_leaves=4", "num_leaves=5"))
    with pytest.raises(ModelIntegrityError, match="does not match its recorded sha256"):
        propose_promotion(client, registry_spec(name=model), store.experiment)
    assert aliases_of(client, model) == {}


def test_candidates(store: Store, model: str) -> None:
    client = store.client()
    with pytest.raises(RegistryError, match="has no versions yet"):
        client.create_registered_model(model)
        propose_promotion(client, registry_spec(name=model), store.experiment)
    register(store, {"test.roc_auc": 0.8, "valid.log_loss": 0.5}, model=model)
    experiment_id = store.experiment_id()
    parent = client.create_run(experiment_id, tags={"hydraops.sweep": "true"})
    children = []
    for loss in (0.4, 0.3, 0.6):
        version = register(store, {"test.roc_auc": 0.8, "valid.log_loss": loss}, model=model,
                           tags={"mlflow.parentRunId": parent.info.run_id})  # fmt: skip
        children.append(version)
    run_of = {v: client.get_model_version(model, v).run_id for v in children}
    client.set_tag(parent.info.run_id, "hydraops.best_child", run_of[children[0]])
    client.set_terminated(parent.info.run_id)
    latest = propose_promotion(client, registry_spec(name=model), store.experiment)  # the sweep's last job: its best child
    sweep = parent.info.run_id
    assert latest.candidate.version == children[0] and latest.candidate.run_id == run_of[children[0]]
    assert latest.candidate.why == f"best child of sweep {sweep} (the latest version, v{children[-1]}, is one of its jobs)"
    by_loss_latest = registry_spec(name=model, candidate=CandidateSpec(metric="valid.log_loss"))
    assert propose_promotion(client, by_loss_latest, store.experiment).candidate.why.startswith(f"best child of sweep {sweep} by valid.log_loss")
    best = propose_promotion(client, registry_spec(name=model, candidate=CandidateSpec(strategy="best_child")), store.experiment)
    assert best.candidate.version == children[0]
    by_loss = CandidateSpec(strategy="best_child", metric="valid.log_loss")
    assert propose_promotion(client, registry_spec(name=model, candidate=by_loss), store.experiment).candidate.version == children[1]
    single = register(store, {"test.roc_auc": 0.7}, model=model)  # a run after the sweep: the latest again
    after = propose_promotion(client, registry_spec(name=model), store.experiment).candidate
    assert (after.version, after.why) == (single, "latest version")
    with pytest.raises(RegistryError, match="version=99: model .* has no such version"):
        propose_promotion(client, registry_spec(name=model), store.experiment, version=99)
    with pytest.raises(RegistryError, match=r"registry.candidate.version: required"):
        propose_promotion(client, registry_spec(name=model, candidate=CandidateSpec(strategy="version")), store.experiment)


def test_lock_excludes_and_stale_locks_are_broken(store: Store, model: str) -> None:
    client = store.client()
    with registry_lock(client, model):
        with pytest.raises(RegistryConflict, match=f"model '{model}' is locked by"):
            acquire(client, model, wait_s=0.3, lease_s=60)
    assert not client.search_registered_models(f"name='{lock_name(model)}'"), "released"
    dead = Holder("t1", "someone", socket.gethostname(), 2**22 + 12345, time.time() + 60)  # no such pid
    client.create_registered_model(lock_name(model), tags=dead.to_tags())
    holder = acquire(client, model, wait_s=1, lease_s=60)  # the holder died: its lock is stale
    release(client, model, holder)
    expired = Holder("t2", "someone", "elsewhere", 1, time.time() - 1)
    client.create_registered_model(lock_name(model), tags=expired.to_tags())
    release(client, model, acquire(client, model, wait_s=1, lease_s=60))


def test_a_lock_without_holder_tags_names_itself_and_goes_stale_after_a_lease(store: Store, model: str) -> None:
    client = store.client()
    client.create_registered_model(lock_name(model))  # made by hand or by another tool: no holder tags
    with pytest.raises(RegistryConflict, match=rf"locked by an unknown holder \(the lock has no holder tags\).*'{lock_name(model)}'"):
        acquire(client, model, wait_s=0.3, lease_s=60)
    time.sleep(1.5)
    release(client, model, acquire(client, model, wait_s=5, lease_s=1))  # its lease (counted from its creation) ended
    assert not client.search_registered_models(f"name='{lock_name(model)}'")
