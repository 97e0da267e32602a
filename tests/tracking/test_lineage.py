"""`hydraops lineage TARGET`: a trained and promoted churn project (a git checkout), a request logged to its
prediction log by the service's writer, a monitoring run of the version and the retrain it triggered (tagged
with the vocabulary monitoring and retrain write); every kind of target leads to the same chain, read back
against what MLflow holds."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from hydraops.tracking import tags as T
from tests.conftest import HYDRAOPS, REPO
from tests.prepared import Prepared

pytestmark = pytest.mark.slow  # one training and one promotion for the module (~25 s)

REQUEST = "req-lineage-1"
BREACHES = "churn-1:data_drift:age:all,churn-1:dataset_drift:-:all"


@dataclass(frozen=True)
class Traced:
    project: Path
    run_id: str
    predictions: list[float]
    monitoring_run_id: str
    retrain_run_id: str

    def client(self):
        from mlflow.tracking import MlflowClient

        uri = f"sqlite:///{self.project}/artifacts/mlflow.db"
        return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Traced:
    import pandas as pd

    from hydraops import load_spec
    from hydraops.testing.served import log_served
    from hydraops.tracking.runs import ensure_experiment

    project = Prepared.build(tmp_path_factory.mktemp("lineage"), 400).project
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "churn"]):
        subprocess.run([*git, *args], cwd=project, check=True, capture_output=True)
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    for args in (["train", "debug=fast"], ["promote"]):
        done = subprocess.run([HYDRAOPS, *args], cwd=project, capture_output=True, text=True, env=environment, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    traced = Traced(project, "", [], "", "")
    client = traced.client()
    run_id = client.get_model_version("churn", "1").run_id
    spec = load_spec(project)
    table = pd.read_parquet(next((project / "artifacts" / "offline_store" / "training_tables").glob("*.parquet")))
    predictions = log_served(spec, client, REQUEST, table.head(2), alias="champion")

    monitoring = client.create_run(ensure_experiment(client, "churn-monitoring", None), tags={
        T.MONITORED_MODEL: "churn", T.MONITORED_VERSION: "1", T.BREACHED: "true", T.BREACH_IDS: BREACHES})  # fmt: skip
    client.set_terminated(monitoring.info.run_id)
    trigger = {T.TRIGGERED_BY: monitoring.info.run_id, T.BREACH_IDS: BREACHES}
    retrain = client.create_run(client.get_experiment_by_name("churn").experiment_id, tags=trigger)
    client.set_terminated(retrain.info.run_id)
    client.create_model_version("churn", client.get_model_version("churn", "1").source, run_id=retrain.info.run_id, tags=trigger)
    return Traced(project, run_id, predictions, monitoring.info.run_id, retrain.info.run_id)


def hydraops_in(project: Path, *args: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``hydraops lineage ARGS`` in this process, run from ``project``: (exit status, stdout, stderr)."""
    from hydraops.cli import run

    monkeypatch.chdir(project)
    capsys.readouterr()
    code = run(["lineage", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def lineage(traced: Traced):
    """The JSON of a target's lineage, read as the verb reads it (without composing the config each time)."""
    from hydraops import load_spec
    from hydraops.tracking.lineage_build import lineage_of

    client, log = traced.client(), load_spec(traced.project).stack.prediction_log

    def read(target: str) -> dict:
        return json.loads(json.dumps(lineage_of(client, target, project="churn", prediction_log=log).to_dict()))

    return read


def test_every_kind_of_target_leads_to_the_same_chain(traced: Traced, lineage) -> None:
    targets = {REQUEST: "request", "churn@champion": "alias", "churn/1": "version", traced.run_id: "run", f"run:{traced.run_id}": "run",
               f"request:{REQUEST}": "request"}  # fmt: skip
    chains = {target: lineage(target) for target in targets}
    assert {target: chain["kind"] for target, chain in chains.items()} == targets
    common = [{k: v for k, v in chain.items() if k not in ("target", "kind", "prediction")} for chain in chains.values()]
    assert all(chain == common[0] for chain in common), "every target leads to the same version, run, config, data, code and history"

    chain, client = common[0], traced.client()
    version, run = client.get_model_version("churn", "1"), client.get_run(traced.run_id)
    tags = run.data.tags
    assert chain["model_version"] | {"created": None, "promotion": None} == {
        "name": "churn", "version": "1", "aliases": ["champion"], "created": None, "sha256": version.tags[T.MODEL_SHA256],
        "flavor": "lightgbm", "source_run_id": traced.run_id, "promotion": None, "triggered_by": None,
    }  # fmt: skip
    assert chain["model_version"]["promotion"]["state"] == "applied" and chain["model_version"]["promotion"]["alias"] == "champion"
    trained = chain["run"]
    assert (trained["run_id"], trained["experiment"], trained["status"], trained["model"]) == (traced.run_id, "churn", "FINISHED", "lightgbm")
    assert chain["run"]["metrics"]["test.roc_auc"] == run.data.metrics["test.roc_auc"] and not any(":" in key for key in chain["run"]["metrics"])
    assert chain["config"] == {
        "digest": tags[T.CONFIG_DIGEST], "overrides": ["debug=fast"], "overrides_digest": tags[T.OVERRIDES_DIGEST], "overrides_verified": True,
        "command": "hydraops train debug=fast", "artifact": f"runs:/{traced.run_id}/config/config.yaml",
    }  # fmt: skip
    data = chain["data"]
    assert data["training_table_sha256"] == tags[T.TRAINING_TABLE_SHA256] and data["data_checks"] == "passed"
    sources = ("customers.parquet", "labels.parquet", "tickets.parquet", "transactions.parquet")
    assert data["files"] == {name: tags[T.data_file_sha256(name)] for name in sources}
    assert [(d["name"], d["context"]) for d in data["datasets"]] == [("churn-train", "train"), ("churn-valid", "valid"), ("churn-test", "test")]
    assert {d["digest"] for d in data["datasets"]} == {d.dataset.digest for d in run.inputs.dataset_inputs}
    assert chain["feature_views"] == {view: tags[T.feature_view_version(view)] for view in ("customer_profile", "support_activity", "transaction_activity")}
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=traced.project, capture_output=True, text=True, check=True).stdout.strip()
    assert chain["code"]["git_commit"] == head and chain["code"]["git_dirty"] is False
    assert chain["code"]["packages"]["hydraops"] == tags[T.package_version("hydraops")]


def test_a_request_shows_the_rows_the_service_logged(traced: Traced, lineage) -> None:
    import pandas as pd

    chain = lineage(REQUEST)
    prediction = chain["prediction"]
    assert (prediction["request_id"], prediction["model_name"], prediction["model_version"]) == (REQUEST, "churn", "1")
    assert prediction["location"] == str((traced.project / "artifacts" / "prediction_log").resolve())
    table = pd.read_parquet(next((traced.project / "artifacts" / "offline_store" / "training_tables").glob("*.parquet"))).head(2)
    assert [row["row"] for row in prediction["rows"]] == [0, 1]
    assert [row["prediction"] for row in prediction["rows"]] == traced.predictions
    assert [row["keys"] for row in prediction["rows"]] == [{"customer_id": str(c)} for c in table["customer_id"]]
    first = prediction["rows"][0]
    assert first["features"]["age"] == table["age"].iloc[0] and set(first["statuses"].values()) == {"given"}
    assert set(first["features"]) == set(first["statuses"]) and "churned" not in first["features"]


def test_what_touched_the_version_afterwards(traced: Traced, lineage) -> None:
    after = lineage("churn/1")["after"]
    assert [(d["action"], d["outcome"], d["moves"]) for d in after["decisions"]] == [("promote", "pending", {"champion": "1"}),
                                                                                    ("promote", "applied", {"champion": "1"})]  # fmt: skip
    assert after["monitoring"] == [{"run_id": traced.monitoring_run_id, "start": after["monitoring"][0]["start"], "breached": True,
                                    "breach_ids": BREACHES.split(",")}]  # fmt: skip
    assert after["retrains"] == [{"run_id": traced.retrain_run_id, "monitoring_run_id": traced.monitoring_run_id, "breach_ids": BREACHES.split(","),
                                  "versions": ["churn/2"]}]  # fmt: skip
    retrained = lineage("churn/2")
    assert retrained["run"]["triggered_by"] == {"monitoring_run_id": traced.monitoring_run_id, "breach_ids": BREACHES.split(",")}
    assert retrained["model_version"]["triggered_by"] == traced.monitoring_run_id and retrained["after"]["monitoring"] == []


def test_the_json_shape_is_the_documented_one(traced: Traced, lineage, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    chain = lineage(REQUEST)
    assert list(chain) == ["format", "target", "kind", "prediction", "model_version", "other_versions", "run", "config", "data", "feature_views",
                           "code", "after"]  # fmt: skip
    assert chain["format"] == 1
    for flag in ("--json", "json=true"):
        code, out, _ = hydraops_in(traced.project, REQUEST, flag, monkeypatch=monkeypatch, capsys=capsys)
        assert code == 0 and json.loads(out) == chain, flag
    page = (REPO / "docs" / "concepts" / "lineage.md").read_text()
    nested = [chain, chain["prediction"], chain["prediction"]["rows"][0], chain["model_version"], chain["run"], chain["config"], chain["data"],
              chain["data"]["datasets"][0], chain["code"], chain["after"], chain["after"]["monitoring"][0], chain["after"]["retrains"][0]]  # fmt: skip
    undocumented = sorted({key for part in nested for key in part if f"`{key}`" not in page})
    assert undocumented == [], "every field of the JSON is described in docs/concepts/lineage.md"


def test_the_tree_reads_as_a_chain(traced: Traced, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = hydraops_in(traced.project, REQUEST, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    lines = [line for line in out.splitlines() if line.strip()]
    order = [f"prediction {REQUEST}", "model version churn v1 [champion]", f"training run {traced.run_id}", "config digest", "data: training table sha256",
             "feature views", "code: git", "afterwards"]  # fmt: skip
    positions = [next(i for i, line in enumerate(lines) if text in line) for text in order]
    assert positions == sorted(positions), out
    assert "overrides: debug=fast" in out and "verified" in out
    assert f"monitoring run {traced.monitoring_run_id}" in out and "breached" in out
    assert f"retrain run {traced.retrain_run_id} because of monitoring run {traced.monitoring_run_id}" in out and "→ churn/2" in out
    code, out, _ = hydraops_in(traced.project, "churn/2", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and f"retrained because of monitoring run {traced.monitoring_run_id}" in out and "churn-1:data_drift:age:all" in out


def test_a_target_that_names_nothing_is_a_usage_error_naming_what_was_tried(traced: Traced) -> None:
    from hydraops import load_spec
    from hydraops.errors import UsageError
    from hydraops.tracking.lineage_build import lineage_of

    client, log = traced.client(), load_spec(traced.project).stack.prediction_log
    where = (traced.project / "artifacts" / "prediction_log").resolve()
    for target, message in [
        ("churn/9", "no version 9 of churn (it has versions 1 to 2)"),
        ("churn@nope", "no alias 'nope' on churn (aliases: champion → v1)"),
        ("nosuch@champion", "no registered model 'nosuch' in the registry"),
        ("r-123", f"no run or request 'r-123': not a run in the tracking store, and not in the prediction log at {where}"),
        ("request:r-123", f"no request 'r-123': not in the prediction log at {where}"),
        ("run:0123456789abcdef0123456789abcdef", "no run 0123456789abcdef0123456789abcdef in the tracking store"),
    ]:
        with pytest.raises(UsageError) as caught:
            lineage_of(client, target, project="churn", prediction_log=log)
        assert str(caught.value).startswith(message) and caught.value.exit_code == 2, (target, str(caught.value))
    with pytest.raises(UsageError, match="no run or request 'r-123': not a run in the tracking store, and no prediction log is declared"):
        lineage_of(client, "r-123", project="churn", prediction_log=None)


def test_the_verb_exits_2_on_a_bad_target(traced: Traced, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    for args, message in [
        (("churn/9",), "error: no version 9 of churn"),
        ((), "error: lineage needs a TARGET"),
        (("churn/1", "json=maybe"), "json=maybe: expected true or false"),
    ]:
        code, out, err = hydraops_in(traced.project, *args, monkeypatch=monkeypatch, capsys=capsys)
        assert code == 2 and message in err, (args, err)
        assert out == "" and "Traceback" not in err
    monkeypatch.setenv("HYDRAOPS_PREDICTION_LOG_URL", str(tmp_path))  # the service's variable: the log is there instead
    code, _, err = hydraops_in(traced.project, f"request:{REQUEST}", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and f"no request '{REQUEST}': not in the prediction log at {tmp_path}" in err, err
