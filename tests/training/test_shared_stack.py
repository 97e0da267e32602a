"""stack=shared: train and sweep against a real MLflow server on 127.0.0.1 backed by PostgreSQL.

The server is started with the command docs/how-to/shared-stack.md gives, on a database of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run, copy_project

pytestmark = pytest.mark.slow
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    database = f"hydraops_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/test", autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    admin.execute(f"CREATE DATABASE {database}")
    port = free_port()
    artifacts = tmp_path_factory.mktemp("mlartifacts")
    mlflow = str(Path(sys.executable).parent / "mlflow")
    process = subprocess.Popen(
        [mlflow, "server", "--backend-store-uri", f"{POSTGRES}/{database}", "--artifacts-destination", str(artifacts),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail("the MLflow server did not come up within 90 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project("churn", tmp_path_factory.mktemp("shared") / "churn")
    subprocess.run([sys.executable, "generate_data.py", "--customers", "1500"], cwd=project, check=True, capture_output=True)
    return project


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
    assert not (project / "artifacts" / "mlflow.db").exists(), "nothing went to the embedded store"
