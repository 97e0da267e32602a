"""The registry verbs from the command line, on the churn project's config and its embedded store (versions
registered with chosen metrics: no training needed). The whole train → promote path runs in
docs/concepts/registry.md's shell block (tests/test_docs_registry.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydraops.registry.promote import aliases_of
from tests.conftest import Run
from tests.registry.support import Store, plant_pickle, register

pytestmark = [pytest.mark.slow, pytest.mark.in_process]
APPROVAL = "registry.gates=[{type: manual_approval}]"


@pytest.fixture
def store(churn: Path) -> Store:
    artifacts = churn / "artifacts"
    artifacts.mkdir()
    return Store(f"sqlite:///{artifacts}/mlflow.db", artifacts / "mlartifacts")


def test_manual_approval_plan_and_show(churn: Path, store: Store, hydraops: Run) -> None:
    v1 = register(store, {"test.roc_auc": 0.8})
    refused = hydraops("promote", APPROVAL, cwd=churn)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "manual_approval" in refused.stdout and "not approved" in refused.stdout
    assert f"churn v{v1} not promoted: failed manual_approval; nothing moved" in refused.stderr
    planned = hydraops("plan", cwd=churn)
    assert planned.returncode == 0, planned.stderr
    assert f"promote churn v{v1} to champion" in planned.stdout and f"v{v1} (latest version); champion: none; would move champion → v{v1}" in planned.stdout
    approved = hydraops("promote", APPROVAL, "approve=true", cwd=churn)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert f"done promote churn v{v1} to champion: decision" in approved.stdout and aliases_of(store.client(), "churn") == {"champion": v1}
    shown = hydraops("registry", "show", "churn", cwd=churn)
    assert shown.returncode == 0, shown.stderr
    assert f"aliases: champion → v{v1}" in shown.stdout and "rejected" in shown.stdout and "applied" in shown.stdout


def test_bad_input_is_a_clear_error(churn: Path, store: Store, hydraops: Run) -> None:
    register(store, {"test.roc_auc": 0.8})
    for args, message in [
        (("promote", "version=abc"), "version=abc: expected a version number, e.g. version=3"),
        (("promote", "version=9"), "version=9: model 'churn' has no such version; it has 1"),
        (("registry", "show", "nosuch"), "no registered model 'nosuch' in the registry"),
        (("promote", "registry.on_pass=previous"), "registry.on_pass"),
    ]:
        result = hydraops(*args, cwd=churn)
        assert result.returncode in (1, 2) and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert aliases_of(store.client(), "churn") == {}


def test_plan_and_promote_never_run_a_pickle_planted_in_the_model(churn: Path, store: Store, hydraops: Run, tmp_path: Path) -> None:
    version = register(store, {"test.roc_auc": 0.8}, own_files=True)
    [mlmodel] = [p for p in store.model_files("churn", version) if p.name == "MLmodel"]
    marker = tmp_path / "payload-ran"
    plant_pickle(mlmodel.parent, marker)
    latency = "registry.gates=[{type: max_predict_latency_ms, value: 10000}]"  # a gate that loads the model
    planned = hydraops("plan", latency, cwd=churn)  # plan reads no model file: the gate is measured at apply
    assert planned.returncode == 0 and "max_predict_latency_ms: - (threshold -) at apply" in planned.stdout, planned.stdout + planned.stderr
    promoted = hydraops("promote", latency, cwd=churn)
    assert promoted.returncode == 2 and "does not match its recorded sha256" in promoted.stderr, promoted.stderr
    assert "Traceback" not in planned.stderr + promoted.stderr and not marker.exists(), "the pickle ran"
    assert aliases_of(store.client(), "churn") == {}
