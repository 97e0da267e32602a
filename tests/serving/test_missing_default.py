"""``deploy.service.missing: default``: declared defaults (``deploy.service.defaults``) checked at validate and
build time, served in place of missing or expired looked-up values with their status kept (in the response
and in ``/metrics``), and applied alike by batch scoring where the point-in-time join finds no value."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from hydraops.errors import ConfigError, ServingError
from hydraops.serving.app import Serving
from hydraops.serving.defaults import require_defaults
from hydraops.serving.predictor import Predictor
from hydraops.testing.bundles import ABSENT, EXPIRED, FRESH, TinyBundle, running_service, tiny_bundle
from tests.conftest import copy_project

DEFAULTS = {"tenure_days": 365, "plan": "basic"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> TinyBundle:
    return tiny_bundle(tmp_path_factory.mktemp("defaults") / "bundle", service={"missing": "default", "defaults": DEFAULTS})


def problems(directory: Path, *overrides: str) -> dict[str, str]:
    from hydraops import load_spec

    with pytest.raises(ConfigError) as raised:
        load_spec(directory, ["deploy.service.missing=default", *overrides])
    return {problem.key: problem.message for problem in raised.value.problems}


def test_validate_checks_each_default_against_its_feature_and_requires_one_per_looked_up_input(tmp_path: Path) -> None:
    from hydraops import load_spec

    churn = copy_project("churn", tmp_path / "churn")
    found = problems(
        churn,
        "model.features=[age,plan,region,amount_sum_30d]",
        "+deploy.service.defaults.age=200",
        "+deploy.service.defaults.plan=gold",
        "+deploy.service.defaults.colour=1",
    )
    assert "breaks the declared le=90" in found["deploy.service.defaults.age"]
    assert "breaks the declared isin=[basic, standard, premium]" in found["deploy.service.defaults.plan"]
    assert "'colour' is not a feature of a feature view" in found["deploy.service.defaults.colour"]
    assert found["deploy.service.defaults"].startswith(
        "deploy.service.missing is 'default' but the looked-up feature(s) region, amount_sum_30d have no default"
    )
    assert (
        "breaks the declared dtype=int64"
        in problems(churn, "model.features=[age,plan,region]", "+deploy.service.defaults.age=old")["deploy.service.defaults.age"]
    )
    spec = load_spec(churn, ["deploy.service.missing=default", "model.features=[age,plan,region,amount_sum_30d]",
                             "++deploy.service.defaults={age:40,plan:basic,region:north,amount_sum_30d:0.0}"])  # fmt: skip
    assert spec.deploy.service.defaults == {"age": 40, "plan": "basic", "region": "north", "amount_sum_30d": 0.0}
    assert load_spec(churn, ["deploy.service.missing=default", "deploy.service.online_features=false"]).deploy.service.defaults == {}


def test_build_refuses_a_bundle_whose_looked_up_input_has_no_default(bundle: TinyBundle) -> None:
    require_defaults(bundle.spec)
    lacking = dataclasses.replace(bundle.spec, service={**bundle.spec.service, "defaults": {"plan": "basic"}})
    with pytest.raises(ServingError, match=r"the looked-up feature\(s\) tenure_days have no default") as raised:
        require_defaults(lacking)
    assert raised.value.key == "deploy.service.defaults"


def test_missing_and_expired_values_are_served_as_their_defaults_with_their_status(bundle: TinyBundle) -> None:
    serving = Serving(bundle.folder)
    rows = [{"customer_id": FRESH, "amount": 10.0}, {"customer_id": EXPIRED, "amount": 10.0}, {"customer_id": ABSENT, "amount": 10.0, "plan": "pro"}]
    document = serving.predict_rows(rows, "r")
    cells = [{name: (cell["value"], cell["status"]) for name, cell in row.items()} for row in document["features"]]
    assert cells == [
        {"tenure_days": (120, "present"), "plan": ("pro", "present"), "amount": (10.0, "given")},
        {"tenure_days": (365, "expired"), "plan": ("basic", "expired"), "amount": (10.0, "given")},
        {"tenure_days": (365, "missing"), "plan": ("pro", "given"), "amount": (10.0, "given")},
    ]
    served = pd.DataFrame({"tenure_days": [120.0, 365.0, 365.0], "plan": ["pro", "basic", "pro"], "amount": [10.0] * 3})
    assert document["predictions"] == Predictor(bundle.spec, bundle.folder / "model").predict(served).tolist()


def metric(text: str, series: str) -> float:
    found = [line for line in text.splitlines() if line.startswith(series + " ")]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def test_the_served_statuses_are_counted_under_default_too(bundle: TinyBundle) -> None:
    expired = 'hydraops_feature_values_total{feature="plan",status="expired"}'
    missing = 'hydraops_feature_values_total{feature="tenure_days",status="missing"}'
    with running_service(bundle.folder) as url, httpx.Client(base_url=url, timeout=10) as http:
        before = http.get("/metrics").text
        response = http.post("/predict", json={"rows": [{"customer_id": EXPIRED, "amount": 1.0}, {"customer_id": ABSENT, "amount": 1.0}]})
        assert response.status_code == 200, response.text
        assert [row["tenure_days"] for row in response.json()["features"]] == [{"value": 365, "status": "expired"}, {"value": 365, "status": "missing"}]
        after = http.get("/metrics").text
        assert http.get("/schema").json()["limits"]["missing"] == "default"
    assert metric(after, expired) - metric(before, expired) == 1 and metric(after, missing) - metric(before, missing) == 1


@pytest.mark.slow
def test_batch_scoring_fills_the_same_defaults_where_the_point_in_time_join_finds_none(tmp_path: Path) -> None:
    """Entity rows scored with features looked up point in time: under ``default`` the rows the join found no
    (or an expired) value for get the declared default, as the service serves them; the others are unchanged."""
    import lightgbm
    import mlflow.lightgbm

    from hydraops import load_spec
    from hydraops.features import FeatureRepo
    from hydraops.features.historical import get_historical_features
    from hydraops.serving.score import ScoreOptions, score_file
    from hydraops.serving.spec import FeatureField, ModelRef, ServingSpec, ViewLookup
    from hydraops.tracking.models import files_sha256
    from tests.prepared import Prepared

    project = Prepared.build(tmp_path / "p", 200).project
    repo = FeatureRepo.from_spec(load_spec(project))
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"age": rng.integers(18, 91, 400).astype(float), "amount_sum_30d": rng.uniform(0, 900, 400)})
    model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=5, verbose=-1).fit(train, (train.amount_sum_30d < 300).astype(int))
    mlflow.lightgbm.save_model(model.booster_, str(tmp_path / "model"))
    defaults = {"age": 44, "amount_sum_30d": 123.5}
    spec = ServingSpec(
        "churn", ModelRef("churn", "1", "run", None, "lightgbm", files_sha256(tmp_path / "model")), "classification",
        [FeatureField("age", "int64", view="customer_profile"), FeatureField("amount_sum_30d", "float64", view="transaction_activity")],
        views=[ViewLookup("customer_profile", ["customer_id"], ["age"]), ViewLookup("transaction_activity", ["customer_id"], ["amount_sum_30d"], 90 * 86400.0)],
        service={"missing": "default", "defaults": defaults},
    )  # fmt: skip
    labels = pd.read_parquet(project / "data" / "labels.parquet")[["customer_id", "label_time"]].head(300)
    rows = pd.concat([labels, labels.head(5).assign(customer_id=10**9)], ignore_index=True)  # an unknown customer: nothing stored
    rows.to_parquet(tmp_path / "rows.parquet", index=False)
    scored = {}
    for policy in ("null", "default"):
        served = dataclasses.replace(spec, service={**spec.service, "missing": policy})
        out = tmp_path / f"{policy}.parquet"
        score_file(Predictor(served, tmp_path / "model"), tmp_path / "rows.parquet", out, ScoreOptions(chunk_rows=128, timestamp="label_time"), repo=repo)
        scored[policy] = pd.read_parquet(out)["prediction"].to_numpy()
    joined = get_historical_features(repo, rows, timestamp_column="label_time", features=["age", "amount_sum_30d"])
    unserved = joined.unserved["customer_profile"].to_numpy() | joined.unserved["transaction_activity"].to_numpy()
    assert unserved[-5:].all() and unserved.sum() < len(rows), "the unknown customer's rows, and some but not all others"
    frame = joined.frame[["age", "amount_sum_30d"]].copy()
    for view, name in (("customer_profile", "age"), ("transaction_activity", "amount_sum_30d")):
        frame[name] = frame[name].where(~joined.unserved[view], defaults[name])
    predictor = Predictor(spec, tmp_path / "model")
    assert np.array_equal(scored["default"], predictor.predict(frame))
    assert np.array_equal(scored["default"][~unserved], scored["null"][~unserved]), "rows with every value found are scored alike"
    assert json.loads(spec.to_json())["service"]["defaults"] == defaults
