"""The prediction log and shadow mode over real `bentoml serve` processes on 127.0.0.1: the logged rows match
the responses (parquet, with a shadow model), every acknowledged row is in PostgreSQL after a SIGTERM, and a
queue too small for a request drops rows, counted in /metrics."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hydraops.errors import ServingError
from hydraops.serving.prediction_log import log_schema, read_log, read_log_table, read_request
from hydraops.serving.predictor import Predictor
from hydraops.serving.shadow import Shadow
from hydraops.testing.bundles import ABSENT, EXPIRED, FRESH, running_service, tiny_bundle

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def settings(**values) -> dict:
    return {"prediction_log": {"enabled": True, "queue_size": 1000, "flush_rows": 1000, "flush_seconds": 0.2, **values}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A bundle with a shadow model, logging to parquet every 0.2 s, served for the module."""
    root = tmp_path_factory.mktemp("prediction-log")
    bundle = tiny_bundle(root / "bundle", shadow=True, prediction_log={"type": "parquet", "path": str(root / "log")}, service=settings())
    with running_service(bundle.folder) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield bundle, client, root / "log"


def metric(client: httpx.Client, series: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def logged_rows(location, request_ids: set[str], timeout: float = 20.0):
    """The log's rows of ``request_ids`` once all are written."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            log = read_log(location)
        except ServingError:
            log = None
        if log is not None and len(log) and request_ids <= set(log["request_id"]):
            return log[log["request_id"].isin(request_ids)]
        assert time.monotonic() < deadline, f"the log did not get {request_ids} within {timeout} s"
        time.sleep(0.2)


def assert_rows_match(log, response: httpx.Response) -> None:
    """The request's logged rows are its response's: the predictions, the values served and their statuses."""
    document = response.json()
    rows = log[log["request_id"] == response.headers["x-request-id"]].sort_values("row")
    assert rows["row"].tolist() == list(range(len(document["predictions"])))
    assert rows["prediction"].tolist() == document["predictions"], "the logged predictions are the ones answered"
    assert set(rows["model_version"]) == {"3"} and set(rows["model_name"]) == {"tiny-churn"}
    for (_, row), features in zip(rows.iterrows(), document["features"]):
        for name, cell in features.items():
            assert row[f"status.{name}"] == cell["status"], name
            value = row[f"feature.{name}"]
            if cell["value"] is None:
                assert value is None or value != value, f"{name}: a null value is logged as null"
            else:
                assert value == cell["value"], name


def test_logged_rows_match_the_responses(served) -> None:
    bundle, client, log_dir = served
    before = metric(client, 'hydraops_prediction_log_written_total{model="tiny-churn",version="3"}')
    started = datetime.now(UTC)
    looked_up = [{"customer_id": FRESH, "amount": 10.0}, {"customer_id": EXPIRED, "amount": 11.0}, {"customer_id": ABSENT, "amount": 12.0}]
    responses = [
        client.post("/predict", json={"rows": looked_up}),
        client.post("/predict", json={"rows": bundle.frame.head(4).to_dict("records"), "explain": True}),
        client.post("/predict", json={"rows": [{"tenure_days": 7, "plan": "max", "amount": 1.5}]}, headers={"x-request-id": "trace-7"}),
    ]
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    log = logged_rows(log_dir, {r.headers["x-request-id"] for r in responses})
    assert len(log) == 8
    for response in responses:
        assert_rows_match(log, response)
    first = log[log["request_id"] == responses[0].headers["x-request-id"]].sort_values("row")
    assert first["key.customer_id"].tolist() == [str(FRESH), str(EXPIRED), str(ABSENT)], "entity keys, as text"
    assert first["status.tenure_days"].tolist() == ["present", "expired", "missing"]
    assert first["feature.tenure_days"].isna().tolist() == [False, True, True], "an expired or missing value is logged as null"
    assert first["explanation"].isna().all()
    explained = log[log["request_id"] == responses[1].headers["x-request-id"]].sort_values("row")
    assert [json.loads(text) for text in explained["explanation"]] == responses[1].json()["explanations"]
    assert all(started - timedelta(seconds=1) <= moment <= datetime.now(UTC) for moment in log["time"]), "times are UTC"
    assert metric(client, 'hydraops_prediction_log_written_total{model="tiny-churn",version="3"}') - before >= 8

    # lineage: a request id leads to the version that answered; the types are the declared ones in every file
    (lineage,) = read_request({"type": "parquet", "path": str(log_dir)}, "trace-7").itertuples()
    assert (lineage.model_name, lineage.model_version, lineage.prediction) == ("tiny-churn", "3", responses[2].json()["predictions"][0])
    table = read_log_table(log_dir)
    assert table.schema.field("feature.tenure_days").type == log_schema(bundle.spec).field("feature.tenure_days").type
    files = sorted(log_dir.glob("date=*/*.parquet"))
    assert files and {path.parent.name for path in files} <= {f"date={started.date()}", f"date={datetime.now(UTC).date()}"}
    assert not list(log_dir.rglob(".*.tmp")), "written through a temporary file, then renamed"
    assert read_log(log_dir, start=datetime.now(UTC) + timedelta(minutes=1)).empty, "a window after every row holds none"


def test_the_shadow_scores_every_row_is_logged_and_never_answered(served) -> None:
    bundle, client, log_dir = served
    scored = 'hydraops_shadow_predictions_total{model="tiny-churn",version="4"}'
    before = metric(client, scored)
    rows = bundle.frame.iloc[10:16]
    response = client.post("/predict", json={"rows": rows.to_dict("records")})
    assert response.status_code == 200
    document = response.json()
    assert set(document) == {"request_id", "model", "predictions", "features"} and "shadow" not in response.text
    assert document["predictions"] == Predictor(bundle.spec, bundle.folder / "model").predict(rows).tolist(), "the answer is the champion's"
    log = logged_rows(log_dir, {document["request_id"]}).sort_values("row")
    shadow = Shadow(bundle.spec, bundle.folder / "shadow")
    expected, error = shadow.score(rows.to_dict("records"))
    assert error is None and log["shadow_prediction"].tolist() == expected, "the challenger's predictions, beside the champion's"
    assert set(log["shadow_model_version"]) == {"4"} and log["shadow_error"].isna().all()
    assert log["shadow_prediction"].tolist() != log["prediction"].tolist()
    assert metric(client, scored) - before == len(rows)


@pytest.mark.slow  # a server of its own
def test_postgresql_log_holds_every_acknowledged_row_after_a_stop(tmp_path: Path) -> None:
    """A flush an hour away: nothing is written while serving, everything once SIGTERM stops the server."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    schema = f"predlog_{uuid.uuid4().hex[:10]}"
    table = f"{schema}.served"
    declared = {"type": "postgresql", "url": "postgresql://127.0.0.1:5432/test", "table": table}  # no user: the machine gives it
    bundle = tiny_bundle(tmp_path / "bundle", prediction_log=declared, service=settings(flush_rows=1000, flush_seconds=3600))
    assert "postgres@" not in (bundle.folder / "serving.json").read_text()
    try:
        with running_service(bundle.folder, env={"HYDRAOPS_PREDICTION_LOG_URL": POSTGRES}) as url, httpx.Client(base_url=url, timeout=10) as client:
            responses = [client.post("/predict", json={"rows": bundle.frame.iloc[i : i + 1 + i % 3].to_dict("records")}) for i in range(12)]
            responses.append(client.post("/predict", json={"rows": [{"customer_id": ABSENT, "amount": 3.0}, {"customer_id": FRESH, "amount": 4.0}]}))
            assert all(r.status_code == 200 for r in responses)
            with pytest.raises(ServingError, match="no prediction log table"):
                read_log(POSTGRES, table=table)  # nothing written yet: the rows wait in the queue
        log = read_log(POSTGRES, table=table)
        assert len(log) == sum(len(r.json()["predictions"]) for r in responses), "every acknowledged row, none twice"
        for response in responses:
            assert_rows_match(log, response)
        assert log["time"].dt.tz is not None and log["shadow_model_version"].isna().all()
        assert len(read_request({**declared, "url": POSTGRES}, responses[-1].headers["x-request-id"])) == 2
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


@pytest.mark.slow  # a server of its own
def test_a_full_queue_drops_rows_counts_them_and_never_blocks(tmp_path: Path) -> None:
    """queue_size 1: of a 10-row request at most one row waits for the writer, the others are dropped."""
    bundle = tiny_bundle(tmp_path / "bundle", prediction_log={"type": "parquet", "path": str(tmp_path / "log")},
                         service=settings(queue_size=1, flush_rows=1, flush_seconds=3600))  # fmt: skip
    dropped = 'hydraops_prediction_log_dropped_total{model="tiny-churn",version="3"}'
    with running_service(bundle.folder) as url, httpx.Client(base_url=url, timeout=10) as client:
        responses = [client.post("/predict", json={"rows": bundle.frame.iloc[10 * i : 10 * i + 10].to_dict("records")}) for i in range(5)]
        assert all(r.status_code == 200 for r in responses)
        lost = metric(client, dropped)
    assert 45 <= lost < 50, lost
    log = read_log(tmp_path / "log")
    assert len(log) + lost == 50, "every row is either logged or counted as dropped"
    for response in responses:
        if response.headers["x-request-id"] in set(log["request_id"]):
            rows = log[log["request_id"] == response.headers["x-request-id"]]
            assert rows["prediction"].tolist() == [response.json()["predictions"][i] for i in rows["row"]]


def test_a_shadow_that_cannot_load_never_fails_a_request(tmp_path: Path) -> None:
    """In process (the same Serving the service runs): a tampered shadow model is refused; requests are answered,
    their rows logged with the reason in shadow_error; close() writes what is queued."""
    from hydraops.serving.app import Serving

    bundle = tiny_bundle(tmp_path / "bundle", shadow=True, prediction_log={"type": "parquet", "path": str(tmp_path / "log")},
                         service=settings(flush_seconds=3600))  # fmt: skip
    model_file = bundle.folder / "shadow" / "model.lgb"
    model_file.write_text(model_file.read_text().replace("tree", "tree ", 1))
    serving = Serving(bundle.folder)
    assert serving.not_ready() is None, "the served model still serves"
    document = serving.predict_rows(bundle.frame.head(3).to_dict("records"), "broken-shadow")
    serving.close()
    log = read_request(tmp_path / "log", "broken-shadow")
    assert log["prediction"].tolist() == document["predictions"]
    assert log["shadow_prediction"].isna().all() and set(log["shadow_model_version"]) == {"4"}
    assert "does not match its recorded sha256" in log["shadow_error"].iloc[0]
