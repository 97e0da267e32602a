"""`hydraops train` logs the reference profile in its run; it is read back for the model version."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from hydraops.errors import MonitoringError
from hydraops.monitoring.profile import CATEGORICAL, NUMERIC, PREDICTION, profile_for_version
from tests.conftest import HYDRAOPS
from tests.prepared import Prepared

pytestmark = pytest.mark.slow


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
