"""`hydraops retrain` from the command line: drifted data → monitor (exit 3) → retrain → a new version tagged with its
trigger, promoted or rejected by the gates; again → nothing (idempotent, cooldown); dry_run changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from hydraops.tracking import tags as T
from tests.conftest import HYDRAOPS, Run
from tests.prepared import Prepared

REPORT = Path("artifacts") / "reports" / "monitor" / "violations.json"

pytestmark = pytest.mark.in_process


def write_report(project: Path, *violations: dict) -> Path:
    path = project / REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "model": "churn", "version": "1", "run_id": "r", "breached": bool(violations), "violations": list(violations)}))
    return path


def test_without_a_monitoring_result_it_names_monitor_report_dir(churn: Path, hydraops: Run) -> None:
    result = hydraops("retrain", cwd=churn)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no monitoring result to decide on" in result.stderr and "monitor.report_dir=" in result.stderr
    assert "hydraops monitor current=PATH" in result.stderr and "Traceback" not in result.stderr


def test_manual_only_reports_what_on_breach_would_do(churn: Path, hydraops: Run) -> None:
    write_report(churn, {"id": "b1", "check": "data_drift", "feature": "age", "chunk": None})
    result = hydraops("retrain", "retrain=manual", "retrain.when=[data_drift]", cwd=churn)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no retrain: retrain.trigger is manual: only reporting" in result.stdout
    assert "on_breach would retrain: 1 new breach(es) of data_drift" in result.stdout
    assert "train" not in [line.strip("│├└─ ") for line in result.stdout.splitlines()]  # nothing planned after the decision


def test_a_bad_hysteresis_is_a_config_error(churn: Path, hydraops: Run) -> None:
    result = hydraops("validate", "retrain.hysteresis.breached=3", "retrain.hysteresis.of=2", cwd=churn)
    assert result.returncode == 2 and "retrain.hysteresis.breached" in result.stderr and "1 <= breached <= of (2)" in result.stderr


def test_the_stage_shows_the_decision_when_planned_and_a_no_at_apply_stops_the_plan(churn: Path) -> None:
    from dataclasses import replace

    from hydraops import load_spec
    from hydraops.config.schemas import BreachKind
    from hydraops.monitoring import retrain_stage
    from hydraops.plan import Outcome, Plan, RunContext, apply

    spec = load_spec(churn)
    write_report(churn, {"id": "b1", "check": "data_drift", "feature": "age", "chunk": None})
    ctx = RunContext.create(spec)
    assert retrain_stage.plan(spec, ctx) == []  # `hydraops apply` never retrains
    [action] = retrain_stage.plan(spec, ctx, decide=True)
    assert action.planned is True and action.notes[0] == "would retrain: 1 new breach(es) of data_drift; 1 of the last 1 chunk(s) breached"
    checked = retrain_stage.decide_retrain(action, ctx)
    assert checked.outcome is Outcome.checked and checked.tags == {T.TRIGGERED_BY: action.trigger, T.BREACH_IDS: "b1"}
    assert action.trigger.startswith(f"{churn / REPORT}@sha256:")
    only_quality = replace(ctx, spec=replace(spec, retrain=replace(spec.retrain, when=[BreachKind.quality])))
    results = apply(Plan("churn", (action, action)), only_quality)  # the first says no: the second never runs
    assert [r.outcome for r in results] == [Outcome.stopped] and "no breach of a kind in retrain.when (quality)" in results[0].summary


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn project trained (debug=fast) and promoted: churn v1 is the champion; drifted.parquet has age older."""
    import glob

    import pandas as pd

    project = Prepared.build(tmp_path_factory.mktemp("retrain"), 400).project
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    for verb in (["train", "debug=fast"], ["promote"]):
        done = subprocess.run([HYDRAOPS, *verb], cwd=project, capture_output=True, text=True, env=environment, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    table = pd.read_parquet(glob.glob(str(project / "artifacts" / "offline_store" / "training_tables" / "*.parquet"))[0])
    table["age"] = table["age"] + 10
    table.to_parquet(project / "drifted.parquet")
    return project


def client_for(project: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def latest_audit(client) -> dict:
    tags = client.get_registered_model("churn").tags
    return json.loads(tags[max(key for key in tags if key.startswith(T.AUDIT_PREFIX + "0"))])


@pytest.mark.slow
def test_monitor_then_retrain_tags_the_new_version_and_never_retrains_twice(served: Path, hydraops: Run) -> None:
    client = client_for(served)
    monitored = hydraops("monitor", "current=drifted.parquet", cwd=served)
    assert monitored.returncode == 3, monitored.stdout + monitored.stderr
    report = json.loads((served / REPORT).read_text())
    ids = [v["id"] for v in report["violations"] if v["check"] == "data_drift"]
    assert ids

    before = (served / REPORT).stat().st_mtime, len(client.search_model_versions("name='churn'"))
    planned = hydraops("retrain", "dry_run=true", cwd=served)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "would retrain: " in planned.stdout and "register a new version of churn" in planned.stdout and "dry run, nothing changed" in planned.stdout
    assert ((served / REPORT).stat().st_mtime, len(client.search_model_versions("name='churn'"))) == before

    retrained = hydraops("retrain", "debug=fast", cwd=served)
    assert retrained.returncode == 0, retrained.stdout + retrained.stderr
    assert "retrained: run " in retrained.stdout and "churn version 2" in retrained.stdout
    version = client.get_model_version("churn", "2")
    run = client.get_run(version.run_id)
    trigger = run.data.tags[T.TRIGGERED_BY]
    assert trigger == report["monitoring_run"]  # the monitoring run that found the breach
    for tags in (run.data.tags, version.tags, latest_audit(client)["tags"]):
        assert tags[T.TRIGGERED_BY] == trigger and sorted(tags[T.BREACH_IDS].split(",")) == sorted(set(ids))
    assert latest_audit(client)["outcome"] == "applied" and str(client.get_model_version_by_alias("churn", "champion").version) == "2"

    again = hydraops("retrain", "debug=fast", cwd=served)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"no retrain: already retrained for these {len(set(ids))} breach(es): run {run.info.run_id}" in again.stdout
    assert len(client.search_model_versions("name='churn'")) == 2

    # judged against v2 now: new breach ids; no cooldown; gates no new version passes → rejected, exit 1
    strict = "registry.gates=[{type: metric_threshold, metric: roc_auc, split: test, op: ge, value: 0.9999}]"
    rejected = hydraops("retrain", "current=drifted.parquet", "retrain.cooldown_hours=0", strict, "debug=fast", cwd=served)
    assert rejected.returncode == 1, rejected.stdout + rejected.stderr
    assert "churn v3 not promoted: failed metric_threshold" in rejected.stderr
    newest, audit = client.get_model_version("churn", "3"), latest_audit(client)
    assert audit["outcome"] == "rejected" and audit["version"] == "3" and str(client.get_model_version_by_alias("churn", "champion").version) == "2"
    assert audit["tags"][T.TRIGGERED_BY] == newest.tags[T.TRIGGERED_BY] != trigger and newest.tags[T.BREACH_IDS]
