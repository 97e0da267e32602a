"""Promoters in separate processes: racing on one model, and crashing half-way; on SQLite and on the
PostgreSQL-backed server."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hydraops.registry import audit
from hydraops.registry.promote import TAG, aliases_of
from tests.conftest import REPO
from tests.registry.support import Store, register

pytestmark = pytest.mark.slow


def promoter(store: Store, model: str, version: str, *flags: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.registry.promoter", store.uri, str(store.artifacts), model, version, *flags]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, dict]:
    out, err = process.communicate(timeout=120)
    results = [line for line in out.splitlines() if line.startswith("{")]  # MLflow prints run links too
    return process.returncode, (json.loads(results[-1]) if results else {"stdout": out[-2000:], "stderr": err[-2000:]})


def assert_every_alias_passed_its_gates(client, model: str) -> None:
    for alias, version in aliases_of(client, model).items():
        assert client.get_model_version(model, version).tags.get(TAG + "passed") == "true", (alias, version)


def seed_champion(client, model: str, version: str) -> None:
    """A champion promoted earlier (its gates passed then)."""
    client.set_registered_model_alias(model, "champion", version)
    client.set_model_version_tag(model, version, TAG + "passed", "true")


def test_racing_promoters_move_the_alias_once(store: Store, tmp_path: Path) -> None:
    model = f"race_{uuid.uuid4().hex[:6]}"
    v1 = register(store, {"test.roc_auc": 0.80}, model=model)
    client = store.client()
    seed_champion(client, model, v1)
    better = [register(store, {"test.roc_auc": auc}, model=model) for auc in (0.85, 0.90)]
    worse = register(store, {"test.roc_auc": 0.50}, model=model)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    processes = {v: promoter(store, model, v, "--barrier", str(barrier), "--parties", "3") for v in [*better, worse]}
    results = {v: finish(p) for v, p in processes.items()}
    assert results[worse][0] == 1 and results[worse][1].get("outcome") == "rejected", results
    codes = sorted(results[v][0] for v in better)
    assert codes == [0, 3], results  # exactly one applied, the other reports the conflict
    [winner] = [v for v in better if results[v][0] == 0]
    [loser] = [v for v in better if results[v][0] == 3]
    assert "aliases changed since the decision" in results[loser][1]["error"]
    assert aliases_of(client, model) == {"champion": winner, "previous": v1}
    assert_every_alias_passed_its_gates(client, model)
    outcomes = [(e["version"], e["outcome"]) for e in audit.read_history(client, model)]
    assert outcomes.count((winner, "applied")) == 1 and (loser, "conflict") in outcomes and (worse, "rejected") in outcomes
    assert (loser, "applied") not in outcomes and (loser, "pending") not in outcomes


def test_a_crash_between_tags_and_alias_move_is_visible_and_completed_by_rerunning(store: Store) -> None:
    model = f"crash_{uuid.uuid4().hex[:6]}"
    v1 = register(store, {"test.roc_auc": 0.80}, model=model)
    client = store.client()
    seed_champion(client, model, v1)
    v2 = register(store, {"test.roc_auc": 0.90}, model=model)
    code, _ = finish(promoter(store, model, v2, "--crash"))
    assert code == 70
    assert aliases_of(client, model) == {"champion": v1}, "the previous champion still serves"
    assert client.get_model_version(model, v2).tags[TAG + "state"] == "pending"
    [half] = audit.half_done(audit.read_history(client, model))
    assert half["version"] == v2 and half["moves"] == {"previous": v1, "champion": v2}
    code, result = finish(promoter(store, model, v2))  # the crashed process's lock is stale: taken over
    assert code == 0 and result == {"outcome": "applied", "id": half["id"]}
    assert aliases_of(client, model) == {"champion": v2, "previous": v1}
    assert client.get_model_version(model, v2).tags[TAG + "state"] == "applied"
    assert not audit.half_done(audit.read_history(client, model))
    assert_every_alias_passed_its_gates(client, model)


def test_a_crash_between_the_two_alias_moves_is_shown_exactly_and_completed_by_rerunning(tmp_path: Path) -> None:
    """On SQLite only: what moved is read back the same way from either store."""
    from hydraops.registry.report import model_report

    store = Store(f"sqlite:///{tmp_path}/mlflow.db", tmp_path)
    model = f"crash2_{uuid.uuid4().hex[:6]}"
    v1 = register(store, {"test.roc_auc": 0.80}, model=model)
    client = store.client()
    seed_champion(client, model, v1)
    v2 = register(store, {"test.roc_auc": 0.90}, model=model)
    code, _ = finish(promoter(store, model, v2, "--crash-after-moves", "1"))  # previous moved, champion not
    assert code == 70
    assert aliases_of(client, model) == {"champion": v1, "previous": v1}
    [half] = model_report(client, model, ()).half_done
    assert half.done == {"previous": v1} and half.not_done == {"champion": v2} and not half.moved_since
    assert half.describe().endswith(f"moved previous → v{v1}; not champion → v{v2}")
    code, result = finish(promoter(store, model, v2))
    assert code == 0 and result == {"outcome": "applied", "id": half.entry["id"]}
    assert aliases_of(client, model) == {"champion": v2, "previous": v1}
    assert not model_report(client, model, ()).half_done

    code, _ = finish(promoter(store, model, v2, "--rollback", "--crash-after-moves", "1"))  # previous removed, champion not
    assert code == 70
    assert aliases_of(client, model) == {"champion": v2}
    [half] = model_report(client, model, ()).half_done
    assert half.describe().endswith(f"moved previous → removed; not champion → v{v1}")
    code, result = finish(promoter(store, model, v2, "--rollback"))  # completes it, though previous is gone
    assert code == 0 and result == {"outcome": "applied", "id": half.entry["id"]}
    assert aliases_of(client, model) == {"champion": v1}
    assert not model_report(client, model, ()).half_done
