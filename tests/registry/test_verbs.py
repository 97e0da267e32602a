"""The registry verbs in process, on the churn project's config and its embedded SQLite store: what they
refuse, and that refusing writes nothing (no store, no experiment). The command line runs in test_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydraops.cli.registry_verbs import promote, rollback, show
from hydraops.config.compose import compose_project, load_spec
from hydraops.errors import RegistryError
from hydraops.registry.promote import aliases_of
from tests.registry.support import Store, register

pytestmark = pytest.mark.slow


def test_verbs_on_a_project_without_a_registry_create_none(churn: Path) -> None:
    spec, cfg = load_spec(churn), compose_project(churn)
    for verb, options in [(show, {}), (promote, {"dry_run": "true"}), (promote, {}), (rollback, {}), (rollback, {"dry_run": "true"})]:
        with pytest.raises(RegistryError, match=r"no registry yet: .*/artifacts/mlflow.db \(stack.tracking_uri\) does not exist"):
            verb(spec, cfg, options)
    assert not (churn / "artifacts").exists(), "a read or a refusal created the store"


def test_failing_verbs_create_no_experiment_and_name_what_is_missing(churn: Path) -> None:
    spec, cfg = load_spec(churn), compose_project(churn)
    store = Store(f"sqlite:///{churn}/artifacts/mlflow.db", churn / "artifacts" / "mlartifacts")
    store.experiment_id()  # the store exists, with the training experiment only
    client = store.client()
    for verb, options, message in [
        (rollback, {}, "no registered model 'churn' in the registry"),
        (show, {"name": "nosuch"}, "no registered model 'nosuch' in the registry"),
        (promote, {}, "no registered model 'churn' in the registry: run `hydraops train` first"),
    ]:  # fmt: skip
        with pytest.raises(RegistryError, match=message):
            verb(spec, cfg, options)
    version = register(store, {"test.roc_auc": 0.8})
    with pytest.raises(RegistryError, match="model 'churn' has no 'champion' to roll back from"):
        rollback(spec, cfg, {})
    with pytest.raises(RegistryError, match="version=9: model 'churn' has no such version"):
        promote(spec, cfg, {"version": 9})
    assert client.get_experiment_by_name("churn-registry") is None, "a failing verb created the audit experiment"
    promote(spec, cfg, {})
    assert aliases_of(client, "churn") == {"champion": version}
    assert client.get_experiment_by_name("churn-registry") is not None, "the first recorded decision creates it"
    with pytest.raises(RegistryError, match=f"no 'previous' version to roll back to \\(champion is v{version}\\)"):
        rollback(spec, cfg, {})
