"""``/readyz`` after an alias move: a bundle built from a real registry (MLflow on SQLite), served by the real
generic service, answers 503 naming both versions once its alias points elsewhere; a registry that does not
answer leaves it ready, the version unknown; a bundle without a registry is ready as before."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import httpx
import pytest

from hydraops.serving.alias_watch import AliasWatch, public_uri
from hydraops.serving.spec import FILE, ServingSpec
from hydraops.testing.bundles import running_service, tiny_bundle
from hydraops.tracking import tags as T
from tests.conftest import copy_project
from tests.registry.support import Store, register

INPUTS = {"features": ["age", "spend"], "categories": {}}
MOVED = "alias champion of model churn now points at version {now}; this bundle serves version {served}: rebuild (hydraops build) and restart"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """(the churn project's store, the build context of churn@champion = v1 with the real service): the
    registry checked every 0.5 s, no online store needed (the rows give every feature)."""
    from hydraops import load_spec
    from hydraops.plan.context import RunContext
    from hydraops.serving.stage import plan, write_context

    directory = copy_project("churn", tmp_path_factory.mktemp("alias") / "churn")
    spec = load_spec(directory, ["deploy.service.online_features=false", "deploy.service.alias_check_seconds=0.5"])
    store = Store(spec.stack.tracking_uri, Path(spec.stack.artifact_location))
    version = register(store, {"test.roc_auc": 0.8}, tags={T.SOURCE_GIT_COMMIT: "0" * 40})
    client = store.client()
    client.log_dict(client.get_model_version("churn", version).run_id, INPUTS, "model_inputs.json")
    client.set_registered_model_alias("churn", "champion", version)
    ctx = RunContext.create(spec)
    (action,) = plan(spec, ctx, required=True)
    return store, write_context(action, ctx)


def test_the_bundle_records_its_alias_and_registry_without_credentials(built) -> None:
    store, context = built
    serving = ServingSpec.from_json((context / FILE).read_text())
    assert (serving.model.alias, serving.model.version) == ("champion", "1")
    assert serving.registry == {"uri": store.uri} and serving.service["alias_check_seconds"] == 0.5
    assert public_uri("postgresql://mlflow:s3cret@db.internal:5432/mlflow?password=x") == "postgresql://db.internal:5432/mlflow"
    assert public_uri("https://user:token@mlflow.example.com/") == "https://mlflow.example.com/"


def test_readyz_is_503_naming_both_versions_once_the_alias_moved(built) -> None:
    store, context = built
    client = store.client()
    rows = {"rows": [{"age": 40, "spend": 0.7}]}
    with running_service(context) as url, httpx.Client(base_url=url, timeout=10) as http:
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "alias": {"name": "champion", "serves": "1", "points_to": "1"}}
        second = register(store, {"test.roc_auc": 0.9})
        client.set_registered_model_alias("churn", "champion", second)
        try:
            time.sleep(0.6)  # the cached answer is older than alias_check_seconds
            moved = http.get("/readyz")
            assert moved.status_code == 503 and moved.headers["content-type"] == "application/problem+json"
            assert moved.json()["detail"] == MOVED.format(now=second, served="1")
            assert http.get("/v2/health/ready").status_code == 503 and http.get("/v2/models/churn/ready").status_code == 503
            assert http.post("/predict", json=rows).status_code == 200, "requests are still answered: only readiness says it"
        finally:
            client.set_registered_model_alias("churn", "champion", "1")
        time.sleep(0.6)
        assert http.get("/readyz").status_code == 200, "ready again once the alias points back"


def test_the_answer_is_reused_for_alias_check_seconds(built) -> None:
    store, context = built
    spec = ServingSpec.from_json((context / FILE).read_text())
    now = [0.0]
    watch = AliasWatch(spec, clock=lambda: now[0])
    assert watch.check() is None and watch.document()["points_to"] == "1"
    client = store.client()
    second = register(store, {"test.roc_auc": 0.7})
    client.set_registered_model_alias("churn", "champion", second)
    try:
        now[0] = 0.4
        assert watch.check() is None, "within 0.5 s the registry is not asked again"
        now[0] = 0.5
        assert watch.check() == MOVED.format(now=second, served="1")
        client.delete_registered_model_alias("churn", "champion")
        now[0] = 1.0
        assert "now points at no version; this bundle serves version 1" in watch.check()
    finally:
        client.set_registered_model_alias("churn", "champion", "1")


def test_an_unreachable_registry_leaves_the_service_ready_with_the_version_unknown(built, tmp_path: Path, caplog) -> None:
    _, context = built
    spec = ServingSpec.from_json((context / FILE).read_text())
    for uri in (f"sqlite:///{tmp_path}/gone/mlflow.db", "http://127.0.0.1:1"):  # a file that is not there; no server there
        watch = AliasWatch(spec, uri)  # as HYDRAOPS_REGISTRY_URI gives it
        with caplog.at_level("WARNING", logger="hydraops.serving.alias_watch"):
            assert watch.check() is None, uri
        document = watch.document()
        assert document["points_to"] is None and "the registry did not answer" in document["unknown"], uri
        assert "version unknown" in caplog.text
    with running_service(context, env={"HYDRAOPS_REGISTRY_URI": f"sqlite:///{tmp_path}/gone/mlflow.db"}) as url:
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200 and "the registry did not answer" in ready.json()["alias"]["unknown"]


def test_without_a_registry_or_with_the_check_off_readyz_is_as_before(built, tmp_path: Path) -> None:
    from hydraops.serving.app import Serving

    bundle = tiny_bundle(tmp_path / "bundle")  # a serving.json without a registry
    serving = Serving(bundle.folder)
    assert not serving.alias.active and serving.not_ready() is None and serving.ready_document() == {"status": "ready"}
    _, context = built
    spec = ServingSpec.from_json((context / FILE).read_text())
    off = dataclasses.replace(spec, service={**spec.service, "alias_check_seconds": None})
    assert not AliasWatch(off).active and AliasWatch(dataclasses.replace(spec, model=dataclasses.replace(spec.model, alias=None))).active is False
    assert json.loads(off.to_json())["registry"] == spec.registry


@pytest.mark.slow
def test_an_mlflow_server_registry_is_asked_through_the_client(built, postgres_mlflow) -> None:
    """The same check against an MLflow server on PostgreSQL (the shared stack's registry)."""
    url, artifacts = postgres_mlflow
    _, context = built
    store = Store(url, artifacts)
    first = register(store, {"test.roc_auc": 0.8}, model="churn_served")
    client = store.client()
    client.set_registered_model_alias("churn_served", "champion", first)
    spec = ServingSpec.from_json((context / FILE).read_text())
    spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, name="churn_served", version=first), registry={"uri": url})
    now = [0.0]
    watch = AliasWatch(spec, clock=lambda: now[0])
    assert watch.check() is None and watch.document() == {"name": "champion", "serves": first, "points_to": first}
    second = register(store, {"test.roc_auc": 0.9}, model="churn_served")
    client.set_registered_model_alias("churn_served", "champion", second)
    now[0] = 1.0
    assert (
        watch.check()
        == f"alias champion of model churn_served now points at version {second}; this bundle serves version {first}: rebuild (hydraops build) and restart"
    )
    client.delete_registered_model_alias("churn_served", "champion")
    now[0] = 2.0
    assert "now points at no version" in watch.check()
