"""stack=shared: train and sweep against a real MLflow server on 127.0.0.1 backed by PostgreSQL.

The server is started with the command docs/how-to/shared-stack.md gives, on a database of its own.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import Run, generated_churn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(postgres_mlflow: tuple[str, Path]) -> str:
    return postgres_mlflow[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_churn(tmp_path_factory.mktemp("shared") / "churn", 600)


def test_train_and_sweep_against_the_server(server: str, project: Path, hydraops: Run) -> None:
    from mlflow.tracking import MlflowClient

    name = f"churn_{uuid.uuid4().hex[:6]}"
    env = {"MLFLOW_TRACKING_URI": server}
    single = hydraops("train", "stack=shared", f"project={name}", "debug=fast", cwd=project, env=env)
    assert single.returncode == 0, single.stdout + single.stderr
    sweep = hydraops("train", "-m", "stack=shared", f"project={name}", "debug=fast", "model.num_leaves=7,15", cwd=project, env=env)
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    client = MlflowClient(tracking_uri=server, registry_uri=server)
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4 and {r.info.status for r in runs} == {"FINISHED"}
    [parent] = [r for r in runs if r.data.tags.get("hydraops.sweep") == "true"]
    assert parent.data.tags["hydraops.best_child"] in {r.info.run_id for r in runs}
    assert len(client.search_model_versions(f"name='{name}'")) == 3
    assert {a.path for a in client.list_artifacts(runs[0].info.run_id, "plots")} >= {"plots/roc.png"}
    # plan reads the server through MlflowClient (MlflowReader): the single run trained these inputs, and the
    # candidate is the sweep's best child (its latest version is one of the sweep's jobs).
    planned = hydraops("plan", "--json", "stack=shared", f"project={name}", "debug=fast", cwd=project, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    actions = {action["type"]: action for action in json.loads(planned.stdout)["actions"]}
    assert actions["TrainRun"]["effect"] == "skip", actions["TrainRun"]
    promote = actions["Promote"]
    assert promote["effect"] == "update" and parent.info.run_id in promote["data"]["why"], promote
    assert not (project / "artifacts" / "mlflow.db").exists(), "nothing went to the embedded store"
