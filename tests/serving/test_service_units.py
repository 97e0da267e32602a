"""The service's parts in-process, for the policies one server per module cannot switch: unknown fields
ignored, missing values refused, a model that does not load, a model that cannot explain, Redis lookup."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hydraops.serving.app import Serving
from hydraops.serving.problems import Refusal
from hydraops.serving.spec import FILE
from hydraops.testing.bundles import ABSENT, EXPIRED, FRESH, TinyBundle, tiny_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> TinyBundle:
    return tiny_bundle(tmp_path_factory.mktemp("units") / "bundle")


def serving_with(bundle: TinyBundle, folder: Path, **service) -> Serving:
    """A copy of the bundle's spec (same model files) with ``service`` overriding deploy.service."""
    import shutil

    if not (folder / "model").exists():
        shutil.copytree(bundle.folder / "model", folder / "model")
    spec = dataclasses.replace(bundle.spec, service={**bundle.spec.service, **service})
    (folder / FILE).write_text(spec.to_json())
    return Serving(folder)


def body(rows: list[dict], **options) -> bytes:
    return json.dumps({"rows": rows, **options}).encode()


def refusal(serving: Serving, payload: bytes) -> Refusal:
    with pytest.raises(Refusal) as caught:
        serving.predict(payload, "r")
    return caught.value


def test_unknown_fields_are_ignored_when_deploy_says_so(bundle, tmp_path) -> None:
    serving = serving_with(bundle, tmp_path, unknown_fields="ignore")
    document = serving.predict(body([{"customer_id": FRESH, "amount": 1.0, "colour": "red"}]), "r")
    assert "colour" not in document["features"][0] and len(document["predictions"]) == 1
    (tmp_path / "strict").mkdir()
    strict = serving_with(bundle, tmp_path / "strict", unknown_fields="reject")
    assert [e.constraint for e in refusal(strict, body([{"customer_id": FRESH, "amount": 1.0, "colour": "red"}])).errors] == ["unknown"]


def test_explanations_are_refused_when_deploy_turns_them_off(bundle, tmp_path) -> None:
    serving = serving_with(bundle, tmp_path, explain=False)
    rows = [{"tenure_days": 1, "plan": "pro", "amount": 1.0}]
    assert "explanations" not in serving.predict(body(rows), "r")
    problem = refusal(serving, body(rows, explain=True))
    assert problem.status == 422 and "deploy.service.explain: false" in problem.detail


def test_missing_and_expired_values_are_refused_under_missing_reject(bundle, tmp_path) -> None:
    serving = serving_with(bundle, tmp_path, missing="reject")
    rows = [{"customer_id": FRESH, "amount": 1.0}, {"customer_id": EXPIRED, "amount": 1.0}, {"customer_id": ABSENT, "amount": 1.0, "plan": "pro"}]
    problem = refusal(serving, body(rows))
    assert problem.status == 422
    assert {(e.row, e.field, e.constraint) for e in problem.errors} == {
        (1, "tenure_days", "ttl=86400s"),
        (1, "plan", "ttl=86400s"),
        (2, "tenure_days", "missing=reject"),
    }
    assert serving.predict(body(rows[:1]), "r")["features"][0]["plan"]["status"] == "present"


def test_a_model_that_does_not_match_its_sha256_is_not_served(bundle, tmp_path) -> None:
    import shutil

    shutil.copytree(bundle.folder, tmp_path / "tampered")
    model_file = next((tmp_path / "tampered" / "model").glob("*.lgb"))
    model_file.write_text(model_file.read_text().replace("num_leaves=7", "num_leaves=8"))
    serving = Serving(tmp_path / "tampered")
    assert serving.predictor is None and "sha256" in serving.not_ready()
    problem = refusal(serving, body([{"tenure_days": 1, "plan": "pro", "amount": 1.0}]))
    assert problem.status == 503 and "not loaded" in problem.detail


def test_explain_on_a_model_that_cannot_explain_is_422(bundle, tmp_path) -> None:
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from sklearn.naive_bayes import GaussianNB

    from hydraops.tracking.models import files_sha256

    frame = bundle.frame.assign(plan=(bundle.frame["plan"] == "pro").astype(float))
    model = GaussianNB().fit(frame, np.arange(len(frame)) % 2)  # not linear: no exact explanation
    mlflow.sklearn.save_model(model, str(tmp_path / "model"), serialization_format="skops", skops_trusted_types=[], pip_requirements=["scikit-learn"])
    model_ref = dataclasses.replace(bundle.spec.model, flavor="sklearn", sha256=files_sha256(tmp_path / "model"))
    spec = dataclasses.replace(bundle.spec, model=model_ref, categories={})
    spec = dataclasses.replace(spec, features=[dataclasses.replace(f, dtype="float64", isin=None) for f in spec.features])
    (tmp_path / FILE).write_text(spec.to_json())
    serving = Serving(tmp_path)
    rows = [{"tenure_days": 3, "plan": 1.0, "amount": 2.0}]
    assert serving.predict(body(rows), "r")["predictions"] == model.predict_proba(pd.DataFrame(rows))[:, 1].tolist()
    problem = refusal(serving, body(rows, explain=True))
    assert problem.status == 422 and problem.kind == "not-explainable" and "sklearn" in problem.detail
    from hydraops.serving.predictor import Predictor
    from hydraops.serving.spec import ServingSpec

    assert Predictor(ServingSpec.from_json((tmp_path / FILE).read_text()), tmp_path / "model").explainable is False


def test_lookup_on_redis_reports_present_expired_missing(bundle, tmp_path) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    from hydraops.features.online import RedisOnlineStore
    from hydraops.features.online.base import OnlineRow
    from hydraops.serving.lookup import OnlineFeatures

    prefix = f"hydraops-test-{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    with RedisOnlineStore("redis://127.0.0.1:6379/0", key_prefix=f"{prefix}:{bundle.spec.project}") as store:
        rows = [OnlineRow((FRESH,), now - timedelta(minutes=5), {"tenure_days": 9, "plan": "max"}),
                OnlineRow((EXPIRED,), now - timedelta(days=2), {"tenure_days": 9, "plan": "max"})]  # fmt: skip
        store.write("customer", rows, as_of=now)
        try:
            declared = {"type": "redis", "url": "redis://127.0.0.1:1/0", "key_prefix": prefix}  # no server there
            spec = dataclasses.replace(bundle.spec, online_store=declared)
            assert "cannot reach" in OnlineFeatures(spec).check()
            online = OnlineFeatures(spec, url="redis://127.0.0.1:6379/0")  # as HYDRAOPS_ONLINE_URL gives it
            assert online.check() is None
            served = online.serve([{"customer_id": FRESH}, {"customer_id": EXPIRED}, {"customer_id": ABSENT, "plan": "pro"}])
            assert [row["tenure_days"] for row in served.statuses] == ["present", "expired", "missing"]
            assert served.statuses[2]["plan"] == "given" and served.values[0]["plan"] == "max" and served.values[1]["plan"] is None
            online.close()
        finally:
            client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
            client.delete(*client.keys(f"{prefix}:*"))


def test_a_materialization_while_serving_is_served_at_once(tmp_path) -> None:
    from hydraops.features.online import SqliteOnlineStore
    from hydraops.features.online.base import OnlineRow
    from hydraops.serving.lookup import OnlineFeatures

    bundle = tiny_bundle(tmp_path / "bundle")
    online = OnlineFeatures(bundle.spec)  # read-only, as the service opens it
    assert online.serve([{"customer_id": ABSENT}]).statuses[0]["plan"] == "missing"
    now = datetime.now(UTC)
    with SqliteOnlineStore(bundle.store_path) as writer:
        writer.write("customer", [OnlineRow((ABSENT,), now, {"tenure_days": 1, "plan": "max"})], as_of=now)
        assert online.serve([{"customer_id": ABSENT}]).values[0]["plan"] == "max", "seen while the writer is open"
    assert online.serve([{"customer_id": FRESH}]).statuses[0]["plan"] == "missing", "a write replaces the view as a whole"
    online.close()


def test_no_client_input_reaches_the_model_unchecked(bundle, tmp_path) -> None:
    """Inputs that would make the model fail are refusals (4xx), never a 500: no rows in any format, a
    string for a numeric input, an integer beyond 64 bits."""
    from hydraops.serving.formats import mlflow_rows, oip_rows

    serving = serving_with(bundle, tmp_path)
    no_rows = [mlflow_rows(b'{"dataframe_records": []}', "application/json", serving.spec),
               mlflow_rows(b"tenure_days,plan,amount\n", "text/csv", serving.spec),
               oip_rows({"inputs": [{"name": "amount", "shape": [0], "datatype": "FP64", "data": []}]})[0]]  # fmt: skip
    for rows in no_rows:
        with pytest.raises(Refusal) as caught:
            serving.predict_rows(rows, "r")
        assert caught.value.status == 422 and caught.value.errors[0].constraint == "minItems=1"
    wrong = [{"tenure_days": 1, "plan": "pro", "amount": "3.5"}, {"tenure_days": 2**70, "plan": "pro", "amount": 1.0}]
    problem = refusal(serving, body(wrong))
    assert {(e.row, e.field, e.constraint) for e in problem.errors} == {(0, "amount", "dtype=float64"), (1, "tenure_days", "dtype=int64")}
    from hydraops.serving.spec import FeatureField
    from hydraops.serving.validation import check_value

    undeclared = FeatureField("distance")  # a request-time input whose source declares no dtype
    assert check_value(undeclared, "far", numeric=True) == [("dtype=number", "'distance' must be a number (the model takes it as one)")]
    assert check_value(undeclared, "far", numeric=False) == [] and check_value(undeclared, 3.5, numeric=True) == []
