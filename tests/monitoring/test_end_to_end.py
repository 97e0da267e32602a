"""`hydraops train` logs the reference profile in its run, read back for the model version; `hydraops monitor`
judges a file against it: violations.json, exit 3 on a breach."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from hydraops.errors import MonitoringError
from hydraops.monitoring.profile import CATEGORICAL, NUMERIC, PREDICTION, profile_for_version
from hydraops.tracking import tags as T
from tests.conftest import HYDRAOPS
from tests.prepared import Prepared

pytestmark = [pytest.mark.slow, pytest.mark.in_process]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = Prepared.build(tmp_path_factory.mktemp("profile"), 400).project
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run([HYDRAOPS, "train", "debug=fast"], cwd=project, capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def client_for(project: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_the_version_has_the_profile_of_its_features_predictions_and_test_metrics(trained: Path, tmp_path: Path) -> None:
    client = client_for(trained)
    profile = profile_for_version(client, "churn", 1)
    run = client.get_run(client.get_model_version("churn", "1").run_id)
    inputs = json.loads(Path(client.download_artifacts(run.info.run_id, "model_inputs.json", str(tmp_path))).read_text())
    assert list(profile.features) == inputs["features"]
    assert profile.features["plan"].kind == CATEGORICAL and set(profile.features["plan"].categories) == {"basic", "standard", "premium"}
    assert profile.features["age"].kind == NUMERIC and 18 <= profile.features["age"].min <= profile.features["age"].max <= 90
    assert all(column.count + column.nulls == profile.rows for column in profile.features.values())
    scores = profile.predictions[PREDICTION]
    assert scores.kind == NUMERIC and 0.0 <= scores.min <= scores.max <= 1.0
    assert profile.metrics["roc_auc"] == pytest.approx(run.data.metrics["test.roc_auc"])
    assert not any(key.startswith(("train.", "valid.", "test.")) for key in profile.metrics)


def test_a_version_without_a_profile_names_the_run_and_what_to_do(trained: Path) -> None:
    client = client_for(trained)
    experiment = client.get_experiment_by_name("churn").experiment_id
    run = client.create_run(experiment)
    client.set_terminated(run.info.run_id)
    client.create_registered_model("bare")
    client.create_model_version("bare", f"runs:/{run.info.run_id}/model", run.info.run_id)
    with pytest.raises(MonitoringError, match=f"model bare version 1: its run {run.info.run_id} has no reference_profile.json") as caught:
        profile_for_version(client, "bare", 1)
    assert "train the model again" in str(caught.value)


@pytest.fixture(scope="module")
def drifted(trained: Path) -> Path:
    """The training table with age half a reference std older, as parquet and CSV."""
    import glob

    import pandas as pd

    profile = profile_for_version(client_for(trained), "churn", 1)
    table = pd.read_parquet(glob.glob(str(trained / "artifacts" / "offline_store" / "training_tables" / "*.parquet"))[0])
    table["age"] = table["age"] + 0.5 * profile.features["age"].std
    table.to_parquet(trained / "drifted.parquet")
    table.to_csv(trained / "drifted.csv", index=False)
    return trained / "drifted.parquet"


def violations_of(project: Path) -> dict:
    return json.loads((project / "artifacts" / "reports" / "monitor" / "violations.json").read_text())


def test_monitor_reports_a_drifted_feature_and_exits_3(trained: Path, drifted: Path, hydraops) -> None:
    result = hydraops("monitor", f"current={drifted}", "version=1", cwd=trained)
    assert result.returncode == 3, result.stdout + result.stderr
    assert re.search(r"│ age +│ wasserstein +│ +[0-9.]+ │ +0.1 │ monitor.default +│ drift +│", result.stdout), result.stdout
    assert "breached data_drift: " in result.stdout and "monitoring check(s) breached" in result.stderr
    report = violations_of(trained)
    assert report["breached"] and report["version"] == "1" and report["current"] == str(drifted)
    [age] = [v for v in report["violations"] if v["feature"] == "age" and v["check"] == "data_drift" and v["chunk"] is None]  # the whole file
    assert report["timestamp"] == "label_time" and {v["chunk"] for v in report["violations"] if v["feature"] == "age"} > {None}  # and its months
    assert age["check"] == "data_drift" and age["method"] == "wasserstein" and age["value"] >= 0.1 == age["threshold"]
    assert age["threshold_source"] == "monitor.default"
    html = trained / "artifacts" / "reports" / "monitor" / "report.html"
    assert f"report: {html}" in result.stdout and f"monitoring run: {report['monitoring_run']}" in result.stdout
    assert 'data-column="age"' in html.read_text() and "http://" not in html.read_text()
    run = client_for(trained).get_run(report["monitoring_run"])
    assert run.data.tags[T.MONITORED_VERSION] == "1" and run.data.tags[T.BREACH_IDS].split(",") == [v["id"] for v in report["violations"]]
    assert run.data.metrics["drift.age"] == pytest.approx(age["value"])


def test_thresholds_from_the_command_line_and_their_sources(trained: Path, drifted: Path, hydraops) -> None:
    loose = ["monitor.default.small_sample=1", "monitor.default.wasserstein=5", "monitor.default.jensenshannon=0.9", "monitor.columns.age.wasserstein=2"]
    loose.append("monitor.columns.age.max_out_of_range=0.5")  # some older ages exceed the declared le 90
    result = hydraops("monitor", f"current={drifted.with_suffix('.csv')}", "version=1", *loose, cwd=trained)
    assert result.returncode == 0, result.stdout + result.stderr
    report = violations_of(trained)
    assert not report["breached"] and report["violations"] == []
    sources = {row["column"]: row["threshold_source"] for row in report["drift"]}
    assert sources["age"] == "monitor.columns.age" and sources["plan"] == "monitor.default"


def test_monitor_dry_run_and_a_missing_alias(trained: Path, drifted: Path, hydraops) -> None:
    for name in ("violations.json", "report.html"):
        (trained / "artifacts" / "reports" / "monitor" / name).unlink(missing_ok=True)
    monitoring = client_for(trained).get_experiment_by_name("churn-monitoring")
    runs = len(client_for(trained).search_runs([monitoring.experiment_id])) if monitoring else 0
    planned = hydraops("monitor", f"current={drifted}", "version=1", "dry_run=true", cwd=trained)
    assert planned.returncode == 0 and "drift of drifted.parquet against churn v1's reference profile" in planned.stdout
    assert "an MLflow run in experiment churn-monitoring" in planned.stdout and "report.html" in planned.stdout
    assert not list((trained / "artifacts" / "reports" / "monitor").glob("*"))
    assert runs == (len(client_for(trained).search_runs([monitoring.experiment_id])) if monitoring else 0)
    no_alias = hydraops("monitor", f"current={drifted}", cwd=trained)
    assert no_alias.returncode == 2 and "no alias 'champion'" in no_alias.stderr


def test_monitor_a_window_of_the_prediction_log(trained: Path, drifted: Path, hydraops) -> None:
    """The drifted rows served over three days, logged by the service's writer: `monitor window=3d end=...` reads
    them from the project's log (stack.prediction_log), cut in daily chunks; an empty window names itself."""
    from datetime import UTC, datetime, timedelta

    import pandas as pd

    from hydraops.testing.prediction_logs import log_spec, write_rows

    profile = profile_for_version(client_for(trained), "churn", 1)
    categorical = [name for name, column in profile.features.items() if column.dtype in ("object", "category", "str", "string")]
    table = pd.read_parquet(drifted)
    spec = log_spec({"type": "parquet", "path": str(trained / "artifacts" / "prediction_log")}, version="1",
                    numeric=[n for n in profile.features if n not in categorical], categorical={n: sorted(table[n].dropna().unique()) for n in categorical})  # fmt: skip
    end = datetime(2026, 11, 23, tzinfo=UTC)
    times = [end - timedelta(days=3) + timedelta(seconds=3 * 86_400 * i / len(table)) for i in range(len(table))]
    write_rows(spec, table, times, [0.3] * len(table))
    result = hydraops("monitor", "window=3d", "end=2026-11-23", "version=1", cwd=trained)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "chunk 2026-11-22" in result.stdout
    report = violations_of(trained)
    assert report["window"] == {"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-23T00:00:00+00:00"}
    assert report["data"].startswith("prediction log ") and report["model_versions"] == {"1": len(table)} and report["timestamp"] == "time"
    assert [c["label"] for c in report["chunks"]] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert {v["feature"] for v in report["violations"] if v["check"] == "data_drift"} >= {"age"}
    empty = hydraops("monitor", "window=1d", "end=2020-01-01", "version=1", cwd=trained)
    assert empty.returncode == 2 and "no rows to judge" in empty.stderr and "prediction_log over [2019-12-31T00:00:00Z" in empty.stderr, empty.stderr


def test_monitor_judges_the_quality_of_the_file_and_the_performance_of_labelled_predictions(trained: Path, hydraops) -> None:
    import glob

    import pandas as pd

    from hydraops.testing.labelled_log import labelled_log, write_log

    table = pd.read_parquet(glob.glob(str(trained / "artifacts" / "offline_store" / "training_tables" / "*.parquet"))[0])
    table["plan"] = table["plan"].astype(object).where(table.index % 10 != 0, "platinum")  # 10 %: outside the declared isin, unseen
    table["age"] = table["age"].astype(str)  # text where the reference had numbers
    table["note"] = "x"
    table.to_parquet(trained / "bad.parquet")
    client = client_for(trained)
    baseline = client.get_run(client.get_model_version("churn", "1").run_id).data.metrics["test.roc_auc"]
    assert baseline > 0.55
    log, labels = labelled_log(days=3, customers=300, flipped={"2026-11-02"}, seed=7)
    write_log(trained / "artifacts" / "prediction_log", log)
    labels.to_parquet(trained / "arrived.parquet")
    loose = ["monitor.default.small_sample=100000", f"monitor.performance.max_drop={baseline - 0.5:.3f}"]  # clean days score ~0.77, flipped ~0.25
    result = hydraops("monitor", f"current={trained / 'bad.parquet'}", "version=1", f"labels={trained / 'arrived.parquet'}", *loose, cwd=trained)
    assert result.returncode == 3, result.stdout + result.stderr
    report = violations_of(trained)
    found = {(v["check"], v["feature"], v["chunk"]) for v in report["violations"] if v["check"] not in {"data_drift", "dataset_drift"}}
    assert found == {("out_of_range", "plan", None), ("unseen_category", "plan", None), ("type_change", "age", None), ("performance", None, "2026-11-02")}
    assert [w["feature"] for w in report["warnings"]] == ["note"]
    assert [c["chunk"] for c in report["performance"]["chunks"]] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert report["performance"]["baseline"] == pytest.approx(baseline) and report["performance"]["joined"] == 900
    assert "type change age" in result.stdout and "drop roc_auc 2026-11-02 (300 labelled)" in result.stdout


def test_labels_are_planned_and_need_a_prediction_log(trained: Path, drifted: Path, hydraops) -> None:
    given = [f"current={drifted}", "version=1", "labels=arrived.parquet", "dry_run=true"]
    planned = hydraops("monitor", *given, cwd=trained)
    assert planned.returncode == 0 and "arrived.parquet" in planned.stdout and "stack.prediction_log" in planned.stdout
    declared = hydraops("monitor", f"current={drifted}", "version=1", "performance=true", "dry_run=true", cwd=trained)
    assert declared.returncode == 0 and "labels.parquet" in declared.stdout, declared.stdout + declared.stderr
    no_log = hydraops("monitor", *given, "stack.prediction_log=null", "deploy.service.prediction_log.enabled=false", cwd=trained)
    assert no_log.returncode == 2 and "declare stack.prediction_log" in no_log.stderr


def test_a_reference_given_on_the_command_line_replaces_the_versions(trained: Path, drifted: Path, hydraops) -> None:
    """The drifted rows judged against themselves (reference=): nothing drifted, the file named in the plan."""
    planned = hydraops("monitor", f"current={drifted}", "version=1", f"reference={drifted}", "dry_run=true", cwd=trained)
    assert planned.returncode == 0 and str(drifted) in planned.stdout, planned.stdout + planned.stderr
    result = hydraops("monitor", f"current={drifted}", "version=1", f"reference={drifted}", "monitor.chunk=null", cwd=trained)
    assert result.returncode in (0, 3), result.stdout + result.stderr
    assert not [v for v in violations_of(trained)["violations"] if v["check"].endswith("drift")], violations_of(trained)["violations"]
