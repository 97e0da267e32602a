"""`hydraops train` for real: MLflow on SQLite, every lineage record read back with MlflowClient."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HYDRAOPS, Run, generated_churn
from tests.prepared import Prepared

pytestmark = pytest.mark.slow
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
CUSTOMERS = 600  # labels for ~4,900 customer-months: every split and slice has both classes


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return Prepared.build(tmp_path_factory.mktemp("train"), CUSTOMERS)


@pytest.fixture
def churn(prepared: Prepared, tmp_path: Path) -> Path:
    """A private copy of the generated project, features materialized (once for the module), in a git repository."""
    return committed(prepared.restore(tmp_path / "churn"))


@pytest.fixture
def unmaterialized(tmp_path: Path) -> Path:
    """A generated project in a git repository, nothing materialized: train materializes first."""
    return committed(generated_churn(tmp_path / "churn", CUSTOMERS))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """One `hydraops train debug=fast model.num_leaves=15` from nothing materialized, and its output: read,
    never changed, by the tests that take it."""
    project = committed(generated_churn(tmp_path_factory.mktemp("trained") / "churn", CUSTOMERS))
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}  # as the hydraops fixture
    result = subprocess.run([HYDRAOPS, "train", "debug=fast", "model.num_leaves=15"], cwd=project,
                            capture_output=True, text=True, env=environment, timeout=120)  # fmt: skip
    return project, result


def committed(project: Path) -> Path:
    """``project`` in a git repository with one commit."""
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "conf", "generate_data.py"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "project"], cwd=project, check=True)
    return project


def client_for(project: Path):
    """A client of the project's embedded store."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{project}/artifacts/mlflow.db"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def runs_of(project: Path) -> list:
    client = client_for(project)
    experiment = client.get_experiment_by_name("churn")
    return client.search_runs([experiment.experiment_id], order_by=["start_time ASC"])


def test_train_records_everything(trained: tuple[Path, subprocess.CompletedProcess]) -> None:
    churn, result = trained
    assert result.returncode == 0, result.stdout + result.stderr
    assert "model churn version 1" in result.stdout and "mlflow ui --backend-store-uri" in result.stdout
    [run] = runs_of(churn)
    client = client_for(churn)
    assert run.info.status == "FINISHED" and run.info.run_name == "lightgbm debug=fast model.num_leaves=15"
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=churn, text=True).strip()
    assert tags["mlflow.source.git.commit"] == head and tags["git.dirty"] == "false"
    assert tags["mlflow.source.name"] == "hydraops train" and tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"]
    assert tags["hydraops.command"].startswith("hydraops train")
    assert tags["version.mlflow"] and tags["version.lightgbm"] and tags["version.hydraops"]
    assert len(tags["hydraops.config_digest"]) == 64 and len(tags["hydraops.training_table_sha256"]) == 64
    assert {f"features.{v}.version" for v in ("customer_profile", "transaction_activity", "support_activity")} <= set(tags)
    assert "data.transactions.parquet.sha256" in tags
    assert params["model.num_leaves"] == "15" and params["project"] == "churn"
    assert {"train.roc_auc", "valid.roc_auc", "test.roc_auc", "test.region:north.roc_auc"} <= set(metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)} | {
        a.path for d in ("config", "plots") for a in client.list_artifacts(run.info.run_id, d)
    }
    assert {"config/config.yaml", "config/overrides.json", "config/.hydra", "plots/roc.png", "model_inputs.json"} <= artifacts
    assert json.loads(
        client.download_artifacts(run.info.run_id, "config/overrides.json").read_text()
        if False
        else Path(client.download_artifacts(run.info.run_id, "config/overrides.json")).read_text()
    ) == ["debug=fast", "model.num_leaves=15"]
    contexts = sorted(i.tags[0].value for i in run.inputs.dataset_inputs)
    assert contexts == ["test", "train", "valid"]
    version = client.get_model_version("churn", "1")
    assert version.run_id == run.info.run_id
    assert version.tags["hydraops.model_sha256"] == tags["hydraops.model_sha256"]
    assert "test.roc_auc" in version.tags and version.tags["hydraops.config_digest"] == tags["hydraops.config_digest"]
    # The lineage readers give the same records back: the version's run, and the data that run read.
    from hydraops.tracking.readers import data_lineage, run_of_version, sweep_of

    assert run_of_version(client, "churn", 1) == run.info.run_id and sweep_of(client, run.info.run_id) is None
    lineage = data_lineage(client, run_of_version(client, "churn", 1))
    assert lineage.training_table_sha256 == tags["hydraops.training_table_sha256"]
    assert set(lineage.view_versions) == {"customer_profile", "transaction_activity", "support_activity"}
    assert lineage.view_versions["customer_profile"] == tags["features.customer_profile.version"]
    assert lineage.data_sha256["transactions.parquet"] == tags["data.transactions.parquet.sha256"] and "labels.parquet" in lineage.data_sha256


def test_model_loads_only_with_its_sha256(trained: tuple[Path, subprocess.CompletedProcess]) -> None:
    from hydraops.tracking.models import ModelIntegrityError, load_model

    churn, result = trained
    assert result.returncode == 0, result.stdout + result.stderr
    [run] = runs_of(churn)
    client = client_for(churn)
    version = client.get_model_version("churn", "1")
    model = load_model(client, "models:/churn/1", version.tags)
    assert model is not None
    with pytest.raises(ModelIntegrityError, match="does not match its recorded sha256"):
        load_model(client, "models:/churn/1", {**version.tags, "hydraops.model_sha256": "0" * 64})


def test_sweep_makes_a_parent_with_children_and_a_leaderboard(churn: Path, hydraops: Run) -> None:
    result = hydraops("train", "-m", "debug=fast", "model.num_leaves=7,15", cwd=churn)
    assert result.returncode == 0, result.stdout + result.stderr
    runs = runs_of(churn)
    [parent] = [r for r in runs if r.data.tags.get("hydraops.sweep") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2 and parent.info.status == "FINISHED"
    board = json.loads(Path(client_for(churn).download_artifacts(parent.info.run_id, "leaderboard.json")).read_text())
    assert board["metric"] == "valid.roc_auc" and board["direction"] == "maximize"
    best = max(children, key=lambda r: r.data.metrics["valid.roc_auc"])
    assert parent.data.tags["hydraops.best_child"] == best.info.run_id == board["runs"][0]["run_id"]
    assert "sweep leaderboard (valid.roc_auc, maximize)" in result.stdout  # printed at the end, best child named
    assert f"best child: {best.info.run_name} (run {best.info.run_id}), valid.roc_auc {best.data.metrics['valid.roc_auc']:.4f}" in result.stdout
    promoted = hydraops("promote", "dry_run=true", cwd=churn)  # the default candidate (latest) is the sweep's best child
    why = f"best child of sweep {parent.info.run_id} (the latest version, v2, is one of its jobs)"
    assert why in " ".join(promoted.stdout.split()), promoted.stdout + promoted.stderr  # rich wraps the line
    # The lineage reader tells each job its sweep and whether it won; a parent is its own sweep.
    from hydraops.tracking.readers import Sweep, sweep_of

    client = client_for(churn)
    assert [sweep_of(client, c.info.run_id) for c in children] == [Sweep(parent.info.run_id, best.info.run_id)] * 2
    assert sweep_of(client, parent.info.run_id) == Sweep(parent.info.run_id, best.info.run_id)
    assert parent.data.tags["mlflow.source.name"] == "hydraops train" and parent.data.tags["hydraops.command"].startswith("hydraops train -m")


def test_bad_input_fails_before_a_run_exists(churn: Path, hydraops: Run) -> None:
    result = hydraops("train", "debug=fast", "split.gap=400d", cwd=churn)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "split" in result.stderr
    unreachable = hydraops("train", "debug=fast", "stack=shared", cwd=churn, env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"})
    assert unreachable.returncode == 2 and "http://127.0.0.1:9 (stack.tracking_uri) is unreachable" in unreachable.stderr
    assert not (churn / "artifacts" / "mlflow.db").exists() or runs_of(churn) == []


def test_reproduce_gives_a_bit_identical_model(churn: Path, hydraops: Run) -> None:
    first = hydraops("train", "debug=fast", "model.num_leaves=9", cwd=churn)
    assert first.returncode == 0, first.stderr
    [original] = runs_of(churn)
    again = hydraops("reproduce", original.info.run_id, cwd=churn)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"reproducing run {original.info.run_id}: hydraops train debug=fast model.num_leaves=9" in again.stdout
    assert "model: bit-identical (same sha256)" in again.stdout and "metrics: equal" in again.stdout
    assert "warning" not in again.stdout
    reproduction = runs_of(churn)[-1]
    assert reproduction.data.tags["hydraops.reproduces"] == original.info.run_id
    # A change of data is called out: the reproduction then differs, and says why.
    labels = churn / "data" / "labels.parquet"
    import pandas as pd

    pd.read_parquet(labels).iloc[:-500].to_parquet(labels)
    changed = hydraops("reproduce", original.info.run_id, cwd=churn)
    assert changed.returncode == 1
    assert "warning: different data: data.labels.parquet.sha256" in changed.stdout
    assert "does not reproduce" in changed.stderr


def test_parallel_sweep_with_joblib_loses_no_run(unmaterialized: Path, hydraops: Run) -> None:
    """8 jobs on 2 joblib workers against the embedded SQLite store: every run lands, none locked (and the
    first two jobs materialize the features concurrently)."""
    churn = unmaterialized
    leaves = ",".join(str(n) for n in (3, 5, 7, 9, 11, 13, 15, 17))
    result = hydraops(
        "train", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "debug=fast", f"model.num_leaves={leaves}",
        cwd=churn, env={"PYTHONUNBUFFERED": ""},  # block-buffered output, flushed only as each process exits
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "database is locked" not in result.stdout + result.stderr
    # The workers exit without a last garbage collection (exit_without_collecting): what they printed still arrives.
    assert sorted(int(v) for v in re.findall(r"model churn version (\d+)", result.stdout)) == list(range(1, 9))
    runs = runs_of(churn)
    assert len(runs) == 9 and {r.info.status for r in runs} == {"FINISHED"}
    assert len(client_for(churn).search_model_versions("name='churn'")) == 8
    # Every job logs the same three split datasets (same data): one dataset each, however the inserts raced.
    inputs = {
        r.info.run_id: {i.tags[0].value: i.dataset for i in r.inputs.dataset_inputs} for r in runs if "hydraops.sweep" not in r.data.tags
    }  # fmt: skip
    assert all(set(split) == {"train", "valid", "test"} for split in inputs.values())
    for split in ("train", "valid", "test"):
        datasets = {(d.name, d.digest, d.schema, d.profile) for d in (job[split] for job in inputs.values())}
        [(name, digest, schema, profile)] = datasets
        assert name == f"churn-{split}" and len(digest) == 16
        assert {"churned", "plan", "region"} <= {c["name"] for c in json.loads(schema)["mlflow_colspec"]}
        assert json.loads(profile)["num_rows"] > 0


def test_optuna_sweep_declared_in_config(churn: Path, hydraops: Run) -> None:
    """hparams_search=optuna: Hydra's Optuna sweeper drives the trials with the objective train returns."""
    result = hydraops("train", "-m", "hparams_search=optuna", "debug=fast", "hydra.sweeper.n_trials=3", cwd=churn)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Sampler: TPESampler" in result.stdout + result.stderr
    runs = runs_of(churn)
    [parent] = [r for r in runs if r.data.tags.get("hydraops.sweep") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3
    assert parent.data.metrics["best.valid.roc_auc"] == max(c.data.metrics["valid.roc_auc"] for c in children)
