"""The generic service over HTTP: one real `bentoml serve` of a tiny bundle for the module (SQLite online
store with a fresh, an expired and no value), every answer checked against the model run in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from hydraops.serving.predictor import Predictor
from hydraops.testing.bundles import ABSENT, EXPIRED, FRESH, TinyBundle, running_service, tiny_bundle

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> TinyBundle:
    return tiny_bundle(tmp_path_factory.mktemp("service") / "bundle")


@pytest.fixture(scope="module")
def client(bundle: TinyBundle):
    with running_service(bundle.folder) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def predictor(bundle: TinyBundle) -> Predictor:
    return Predictor(bundle.spec, bundle.folder / "model")


def predict(client: httpx.Client, rows: list[dict], **options) -> httpx.Response:
    return client.post("/predict", json={"rows": rows, **options})


def errors_of(response: httpx.Response) -> set[tuple]:
    assert response.headers["content-type"] == PROBLEM
    return {(e["row"], e["field"], e["constraint"]) for e in response.json()["errors"]}


def test_predictions_equal_the_model_in_process_bit_for_bit(client, bundle, predictor) -> None:
    rows = bundle.frame.head(40)
    response = predict(client, rows.to_dict("records"))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["predictions"] == predictor.predict(rows).tolist()
    assert document["model"] == {"name": "tiny-churn", "version": "3"}
    assert document["request_id"] == response.headers["x-request-id"]
    assert {status["status"] for row in document["features"] for status in row.values()} == {"given"}


def test_looked_up_features_report_present_expired_missing(client, bundle, predictor) -> None:
    rows = [{"customer_id": FRESH, "amount": 10.0}, {"customer_id": EXPIRED, "amount": 10.0}, {"customer_id": ABSENT, "amount": 10.0}]
    document = predict(client, rows).json()
    statuses = [{name: cell["status"] for name, cell in row.items()} for row in document["features"]]
    assert statuses == [
        {"tenure_days": "present", "plan": "present", "amount": "given"},
        {"tenure_days": "expired", "plan": "expired", "amount": "given"},
        {"tenure_days": "missing", "plan": "missing", "amount": "given"},
    ]
    assert document["features"][0]["tenure_days"]["value"] == bundle.stored[FRESH]["tenure_days"]
    assert document["features"][1]["tenure_days"]["value"] is None, "an expired value is never served"
    served = pd.DataFrame({"tenure_days": [120.0, np.nan, np.nan], "plan": ["pro", None, None], "amount": [10.0] * 3})
    assert document["predictions"] == predictor.predict(served).tolist()


def test_given_values_override_looked_up_ones(client) -> None:
    document = predict(client, [{"customer_id": FRESH, "tenure_days": 5, "amount": 1.0}]).json()
    assert document["features"][0]["tenure_days"] == {"value": 5, "status": "given"}
    assert document["features"][0]["plan"]["status"] == "present"


def test_every_constraint_kind_is_refused_naming_the_field_without_the_value(client) -> None:
    rows = [
        {"tenure_days": "abc-secret", "plan": "pro", "amount": 1.0},  # dtype
        {"tenure_days": 10, "plan": "pro", "amount": None},  # nullable
        {"tenure_days": -7777, "plan": "pro", "amount": 1.0},  # ge
        {"tenure_days": 10, "plan": "pro", "amount": 98765.4321},  # le
        {"tenure_days": 10, "plan": "gold-secret", "amount": 1.0},  # isin
        {"amount": 1.0},  # entity key needed for the looked-up features
        {"customer_id": [1], "amount": 1.0},  # entity key of the wrong type
        {"customer_id": "42", "amount": 1.0},  # an integer key sent as a string (it would find nothing)
    ]
    response = predict(client, rows)
    assert response.status_code == 422
    assert errors_of(response) == {
        (0, "tenure_days", "dtype=int64"),
        (1, "amount", "nullable=false"),
        (2, "tenure_days", "ge=0"),
        (3, "amount", "le=1000"),
        (4, "plan", "isin=[basic, max, pro]"),
        (5, "customer_id", "required"),
        (6, "customer_id", "entity key"),
        (7, "customer_id", "entity key"),
    }
    problem = response.json()
    assert problem["type"].endswith("/invalid-input") and problem["status"] == 422 and problem["title"]
    assert problem["request_id"] == response.headers["x-request-id"]
    for secret in ("abc-secret", "7777", "98765", "gold-secret"):
        assert secret not in response.text


def test_malformed_json_is_400_and_wrong_shapes_are_422(client) -> None:
    response = client.post("/predict", content=b'{"rows": [', headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    assert client.post("/predict", content=b'{"rows": [{"amount": NaN}]}').status_code == 400
    response = client.post("/predict", json={"rows": {"amount": 1}, "explain": "yes", "top_k": 0})
    assert response.status_code == 422
    assert errors_of(response) == {(None, "rows", "type=array"), (None, "explain", "type=bool"), (None, "top_k", "type=int, ge=1")}


def test_unknown_fields_are_refused(client) -> None:
    response = predict(client, [{"customer_id": FRESH, "amount": 1.0, "colour": "red"}])
    assert response.status_code == 422 and errors_of(response) == {(0, "colour", "unknown")}
    response = client.post("/predict", json={"rows": [{"customer_id": FRESH, "amount": 1.0}], "verbose": True})
    assert response.status_code == 422 and errors_of(response) == {(None, "verbose", "unknown")}


def test_too_large_a_body_or_too_many_rows_is_413(client) -> None:
    response = client.post("/predict", content=b'{"rows": [' + b" " * 30_000 + b"]}")
    assert response.status_code == 413 and "20000" in response.json()["detail"]
    streamed = client.post("/predict", content=iter([b'{"rows": [', b" " * 15_000, b" " * 15_000, b"]}"]))  # chunked: no length
    assert streamed.status_code == 413 and "content-length" not in streamed.request.headers
    response = predict(client, [{"customer_id": FRESH, "amount": 1.0}] * 51)
    assert response.status_code == 413 and "at most 50" in response.json()["detail"]


def test_explanations_add_up_and_keep_the_top_k(client, bundle, predictor) -> None:
    rows = bundle.frame.head(5)
    document = predict(client, rows.to_dict("records"), explain=True).json()
    explained = predictor.explain(rows)
    for index, explanation in enumerate(document["explanations"]):
        assert explanation["space"] == "raw margin (log-odds)"
        assert explanation["additivity"]["ok"] and explanation["additivity"]["error"] <= 1e-9
        total = explanation["base"] + sum(c["contribution"] for c in explanation["contributions"])
        assert abs(total - explanation["raw"]) <= 1e-9 and explanation["raw"] == explained.raw[index]
        assert {c["feature"] for c in explanation["contributions"]} == {"tenure_days", "plan", "amount"}
        assert [c["value"] for c in explanation["contributions"] if c["feature"] == "amount"] == [rows["amount"].iloc[index]]
    top = predict(client, rows.head(1).to_dict("records"), explain=True, top_k=1).json()["explanations"][0]
    full = document["explanations"][0]
    assert top["contributions"] == [max(full["contributions"], key=lambda c: abs(c["contribution"]))]
    assert abs(top["base"] + top["contributions"][0]["contribution"] + top["rest"] - top["raw"]) <= 1e-9


def test_schema_lists_the_declared_constraints_and_entity_keys(client) -> None:
    schema = client.get("/schema").json()
    assert schema["model"] == {"name": "tiny-churn", "version": "3"}
    by_name = {f["name"]: f for f in schema["features"]}
    assert (by_name["amount"]["dtype"], by_name["amount"]["ge"], by_name["amount"]["le"]) == ("float64", 0, 1000)
    assert by_name["amount"]["nullable"] is False and by_name["plan"]["isin"] == ["basic", "max", "pro"]
    assert schema["views"] == [
        {
            "name": "customer",
            "entity_keys": ["customer_id"],
            "key_types": {"customer_id": "integer"},
            "features": ["tenure_days", "plan"],
            "ttl_seconds": 86400.0,
        }
    ]
    assert schema["limits"]["max_rows"] == 50


def test_every_response_carries_the_request_id_and_the_model(client) -> None:
    responses = [client.get("/livez"), client.get("/readyz"), client.get("/metrics"), client.get("/schema"),
                 predict(client, [{"customer_id": FRESH, "amount": 1.0}]), predict(client, [{"amount": -1}])]  # fmt: skip
    for response in responses:
        assert response.headers["x-model-name"] == "tiny-churn" and response.headers["x-model-version"] == "3", response.url
        assert len(response.headers["x-request-id"]) >= 16
    assert len({response.headers["x-request-id"] for response in responses}) == len(responses)
    echoed = client.get("/livez", headers={"x-request-id": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"


def metric(client: httpx.Client, series: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_counters_move(client) -> None:
    predictions = 'hydraops_predictions_total{model="tiny-churn",version="3"}'
    refused = 'hydraops_validation_failures_total{model="tiny-churn",status="422",version="3"}'
    expired = 'hydraops_feature_values_total{feature="plan",status="expired"}'
    missing = 'hydraops_feature_values_total{feature="tenure_days",status="missing"}'
    before = {name: metric(client, name) for name in (predictions, refused, expired, missing)}
    predict(client, [{"customer_id": EXPIRED, "amount": 1.0}, {"customer_id": ABSENT, "amount": 1.0}])
    predict(client, [{"amount": -5}])
    after = {name: metric(client, name) for name in before}
    assert after[predictions] - before[predictions] == 2
    assert after[refused] - before[refused] == 1
    assert after[expired] - before[expired] == 1 and after[missing] - before[missing] == 1
    assert "bentoml_" in client.get("/metrics").text, "BentoML's own series are there too"


def test_readyz_is_503_with_the_reason_while_the_store_file_is_gone(client, bundle) -> None:
    assert client.get("/readyz").status_code == 200
    moved = Path(f"{bundle.store_path}.away")
    shutil.move(bundle.store_path, moved)
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.headers["content-type"] == PROBLEM
        assert str(bundle.store_path) in response.json()["detail"]
        response = predict(client, [{"customer_id": FRESH, "amount": 1.0}])
        assert response.status_code == 503 and "online store" in response.json()["detail"]
        assert predict(client, [{"tenure_days": 3, "plan": "pro", "amount": 1.0}]).status_code == 200, "no lookup needed"
    finally:
        shutil.move(moved, bundle.store_path)
    assert client.get("/readyz").status_code == 200, "ready again once the store is back"
    assert predict(client, [{"customer_id": FRESH, "amount": 1.0}]).json()["features"][0]["plan"]["status"] == "present"


def test_every_wire_format_gives_the_same_predictions_bit_for_bit(client, bundle, predictor) -> None:
    rows = bundle.frame.iloc[40:60]
    expected = predictor.predict(rows).tolist()
    records = rows.to_dict("records")
    split = {"columns": list(rows.columns), "data": [list(record.values()) for record in records]}
    bodies = {
        "dataframe_split": {"dataframe_split": split},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs (columns)": {"inputs": {name: rows[name].tolist() for name in rows.columns}},
    }
    for name, body in bodies.items():
        response = client.post("/invocations", json=body)
        assert response.status_code == 200, (name, response.text)
        assert response.json() == {"predictions": expected}, name
    csv = client.post("/invocations", content=rows.to_csv(index=False).encode(), headers={"content-type": "text/csv"})
    assert csv.json() == {"predictions": expected}
    assert predict(client, records).json()["predictions"] == expected

    tensors = [{"name": n, "shape": [len(rows)], "datatype": "BYTES" if n == "plan" else "FP64", "data": rows[n].tolist()} for n in rows.columns]
    response = client.post("/v2/models/tiny-churn/infer", json={"id": "abc", "inputs": tensors})
    assert response.status_code == 200, response.text
    assert response.json() == {"model_name": "tiny-churn", "model_version": "3", "id": "abc",
                               "outputs": [{"name": "predictions", "datatype": "FP64", "shape": [20], "data": expected}]}  # fmt: skip
    assert client.post("/v2/models/tiny-churn/versions/3/infer", json={"inputs": tensors}).json()["outputs"][0]["data"] == expected


def test_mlflow_and_v2_requests_are_validated_and_looked_up_alike(client) -> None:
    response = client.post("/invocations", json={"dataframe_records": [{"customer_id": FRESH, "amount": -1.0}]})
    assert response.status_code == 422 and errors_of(response) == {(0, "amount", "ge=0")}
    response = client.post("/invocations", json={"dataframe_records": [], "instances": []})
    assert response.status_code == 422
    tensors = [{"name": "customer_id", "shape": [1], "datatype": "INT64", "data": [FRESH]}, {"name": "amount", "shape": [1], "datatype": "FP64", "data": [2.0]}]
    expected = predict(client, [{"customer_id": FRESH, "amount": 2.0}]).json()["predictions"]
    assert client.post("/v2/models/tiny-churn/infer", json={"inputs": tensors}).json()["outputs"][0]["data"] == expected
    assert client.post("/v2/models/other/infer", json={"inputs": tensors}).status_code == 404
    bad_shape = [{**tensors[1], "shape": [3]}, tensors[0]]
    assert errors_of(client.post("/v2/models/tiny-churn/infer", json={"inputs": bad_shape})) == {(None, "amount", "shape")}


def test_v2_health_and_metadata(client) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200 and client.get("/v2/models/tiny-churn/ready").status_code == 200
    metadata = client.get("/v2/models/tiny-churn").json()
    assert metadata["name"] == "tiny-churn" and metadata["versions"] == ["3"] and metadata["platform"] == "hydraops-lightgbm"
    assert {(i["name"], i["datatype"]) for i in metadata["inputs"]} == {
        ("tenure_days", "INT64"), ("plan", "BYTES"), ("amount", "FP64"), ("customer_id", "INT64")}  # fmt: skip
    assert metadata["outputs"] == [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    assert client.get("/v2/models/nope").status_code == 404
