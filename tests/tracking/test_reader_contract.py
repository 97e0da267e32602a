"""The two TrackingReaders answer alike: a real store written by MLflow's own client (runs with tags and
metrics, a deleted run, a sweep, versions with tags, a deleted version, aliases, registered-model tags) is
read through ``MlflowReader`` and through ``SqliteReader`` (stdlib sqlite3), and every answer must match."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from hydraops.config.schemas import StackSpec
from hydraops.features.online import SqliteOnlineStoreSpec
from hydraops.tracking import tags as T
from hydraops.tracking.handle import Tracking
from hydraops.tracking.reading import MlflowReader, TrackingReader
from hydraops.tracking.sqlite_reader import SqliteReader

MODEL, OTHER = "churn", "other"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """An MLflow SQLite store filled through MlflowClient; returns its file and the ids it holds by role."""
    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("contract")
    uri = f"sqlite:///{folder}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("churn", artifact_location=str(folder / "artifacts"))
    gone = client.create_experiment("gone", artifact_location=str(folder / "gone"))
    ids = {"experiment": experiment, "gone": gone}

    def run(name: str, status: str = "FINISHED", experiment_id: str = experiment, **tags: str) -> str:
        created = client.create_run(experiment_id, tags={T.RUN_NAME: name, **tags})
        time.sleep(0.002)  # distinct start times, so "newest first" is not decided by the id alone
        if status != "RUNNING":
            client.set_terminated(created.info.run_id, status)
        ids[name] = created.info.run_id
        return created.info.run_id

    trained = run("trained", **{T.INPUTS_DIGEST: "d1", T.DATA_CHECKS: "passed"})
    client.log_metric(trained, "valid.roc_auc", 0.5, step=0)
    client.log_metric(trained, "valid.roc_auc", 0.8, step=1)  # the latest value is the one read
    client.log_metric(trained, "valid.log_loss", math.nan)
    client.log_metric(trained, "test.roc_auc", math.inf)
    client.log_metric(trained, "test.count", 3)
    client.log_param(trained, "model.num_leaves", "31")
    run("failed", "FAILED", **{T.INPUTS_DIGEST: "d1"})
    run("running", "RUNNING", **{T.INPUTS_DIGEST: "d1"})
    deleted = run("deleted", **{T.INPUTS_DIGEST: "d1"})
    client.delete_run(deleted)
    sweep = run("sweep", **{T.SWEEP: "true"})
    for index, score in enumerate((0.7, 0.9, math.nan)):
        child = run(f"child{index}", **{T.PARENT_RUN: sweep})
        client.log_metric(child, "valid.roc_auc", score)
    client.set_tag(sweep, T.BEST_CHILD, ids["child1"])
    run("elsewhere", experiment_id=gone, **{T.INPUTS_DIGEST: "d1"})
    client.delete_experiment(gone)

    client.create_registered_model(MODEL, tags={T.AUDIT_PREFIX + "00001": '{"id":"a"}', T.AUDIT_RUN: trained})
    for role in ("trained", "child0", "child1", "trained", "failed"):
        version = client.create_model_version(MODEL, f"{folder}/artifacts/{ids[role]}/model", run_id=ids[role],
                                              tags={T.APPROVED: "true", T.MODEL_SHA256: role})  # fmt: skip
        ids[f"v{version.version}"] = str(version.version)
    client.set_model_version_tag(MODEL, "2", T.PROMOTION_PREFIX + "state", "rejected")
    client.delete_model_version(MODEL, "5")
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "previous", "3")
    client.create_registered_model(OTHER)
    client.create_model_version(OTHER, f"{folder}/artifacts/{trained}/model", run_id=trained)
    return folder / "mlflow.db", ids


def readers(path: Path) -> tuple[TrackingReader, TrackingReader]:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{path}"
    return MlflowReader(MlflowClient(tracking_uri=uri, registry_uri=uri)), SqliteReader(path)


def answers(reader: TrackingReader, ids: dict[str, str]) -> dict[str, object]:
    """Every method on every interesting argument, as plain comparable data (NaN spelled out)."""
    runs = {name: run_id for name, run_id in ids.items() if not name.startswith(("v", "experiment", "gone"))}
    searches = {
        "all": {}, "digest": {"tags": {T.INPUTS_DIGEST: "d1"}}, "finished": {"tags": {T.INPUTS_DIGEST: "d1"}, "status": "FINISHED"},
        "sweep": {"tags": {T.SWEEP: "true"}, "max_results": 1}, "children": {"tags": {T.PARENT_RUN: ids["sweep"]}},
        "none": {"tags": {T.INPUTS_DIGEST: "nope"}}, "two": {"max_results": 2}, "failed": {"status": "FAILED"},
    }  # fmt: skip
    return _plain({
        "experiment_id": {name: reader.experiment_id(name) for name in ("churn", "gone", "missing")},
        "runs": {label: [asdict(r) for r in reader.runs(ids["experiment"], **args)] for label, args in searches.items()},
        "runs in a deleted experiment": [asdict(r) for r in reader.runs(ids["gone"])],
        "run": {name: asdict(reader.run(run_id)) for name, run_id in runs.items()} | {"missing": reader.run("0" * 32)},
        "registered_model": {name: reader.registered_model(name) and asdict(reader.registered_model(name)) for name in (MODEL, OTHER, "missing")},
        "versions": {name: [asdict(v) for v in reader.versions(name)] for name in (MODEL, OTHER, "missing")},
        "versions of run": {name: [asdict(v) for v in reader.versions(run_id=run_id)] for name, run_id in runs.items()},
        "version": {str(n): reader.version(MODEL, n) and asdict(reader.version(MODEL, n)) for n in ("1", 2, "5", "9")},
    })  # fmt: skip


def _plain(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def test_both_readers_answer_every_question_alike(store: tuple[Path, dict[str, str]]) -> None:
    path, ids = store
    through_mlflow, through_sqlite = readers(path)
    expected = answers(through_mlflow, ids)
    assert answers(through_sqlite, ids) == expected
    # What MLflow answers is what the planners rely on: spot-check it, so the comparison is not vacuous.
    finished = expected["runs"]["finished"]
    assert [r["run_id"] for r in finished] == [ids["trained"]]
    assert finished[0]["metrics"] == {"valid.roc_auc": 0.8, "valid.log_loss": "NaN", "test.roc_auc": finished[0]["metrics"]["test.roc_auc"], "test.count": 3.0}
    assert [r["run_id"] for r in expected["runs"]["digest"]] == [ids["running"], ids["failed"], ids["trained"]]  # newest first, deleted left out
    assert expected["run"]["deleted"]["lifecycle_stage"] == "deleted" and expected["run"]["missing"] is None
    assert expected["registered_model"][MODEL]["aliases"] == {"champion": "1", "previous": "3"}
    assert [v["version"] for v in expected["versions"][MODEL]] == ["4", "3", "2", "1"]  # v5 deleted
    assert expected["version"]["5"] is None and expected["version"]["2"]["tags"][T.PROMOTION_PREFIX + "state"] == "rejected"
    assert expected["experiment_id"]["gone"] == ids["gone"] and expected["runs in a deleted experiment"] == []  # its runs went with it


def test_a_missing_store_or_table_reads_as_an_empty_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE unrelated (x)").connection.close()
    for reader in (SqliteReader(tmp_path / "missing.db"), SqliteReader(empty)):
        assert reader.experiment_id("churn") is None and reader.runs("1") == [] and reader.run("r") is None
        assert reader.registered_model(MODEL) is None and reader.versions(MODEL) == [] and reader.versions(run_id="r") == []
        assert reader.version(MODEL, 1) is None
    assert not (tmp_path / "missing.db").exists(), "reading never creates a store"


def test_a_reader_sees_a_store_created_after_it_first_looked(tmp_path: Path, store: tuple[Path, dict[str, str]]) -> None:
    path = tmp_path / "later.db"
    reader = SqliteReader(path)
    assert reader.registered_model(MODEL) is None
    path.write_bytes(store[0].read_bytes())
    assert reader.registered_model(MODEL) is not None


def stack(tmp_path: Path, uri: str) -> StackSpec:
    return StackSpec(name="test", tracking_uri=uri, artifact_location=str(tmp_path / "artifacts"),
                     online_store=SqliteOnlineStoreSpec(path=str(tmp_path / "o.db")), bento_home=str(tmp_path))  # fmt: skip


def test_the_handle_reads_an_embedded_store_without_mlflow(tmp_path: Path, store: tuple[Path, dict[str, str]]) -> None:
    """``Tracking.reader`` is a SqliteReader on a plain SQLite URI, imported and used without MLflow; an
    MlflowReader on any other store."""
    script = (
        "import sys\n"
        "from hydraops.tracking.handle import Tracking\n"
        f"reader = Tracking({f'sqlite:///{store[0]}'!r}, {f'sqlite:///{store[0]}'!r}).reader()\n"
        f"print(type(reader).__name__, reader.registered_model({MODEL!r}).aliases['champion'],\n"
        "      sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'sqlalchemy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["SqliteReader", "1", "[]"], done.stderr
    other = Tracking.of(stack(tmp_path, f"sqlite:///{store[0]}?timeout=5")).reader()  # not a plain file URI
    assert isinstance(other, MlflowReader) and other.registered_model(MODEL).aliases["champion"] == "1"
