"""A new embedded store is a copy of a cached empty one: the same schema MLflow makes itself, the store's own
Default experiment, MLflow's own creation when the cache cannot be written, an existing store never touched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hydraops.tracking.handle import Tracking
from hydraops.tracking.sqlite_seed import seed_sqlite_store

pytestmark = pytest.mark.slow  # two MLflow migrations (~4 s each on an idle machine)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the empty store, made once for the module."""
    folder = tmp_path_factory.mktemp("store-cache")
    assert seed_sqlite_store(folder.parent / f"{folder.name}-first" / "mlflow.db", folder)
    return folder


def schema(path: Path) -> list[tuple[str, str, list[str]]]:
    """Every table and index with its definition's lines sorted: MLflow's own migrations write a table's
    constraints in an order that changes from one process to the next."""
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master").fetchall()
    return sorted((kind, name, sorted(line.strip().rstrip(",") for line in sql.splitlines())) for kind, name, sql in found)


def rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT * FROM {table}").fetchall()


def test_without_a_writable_cache_mlflow_makes_the_store_and_a_seeded_one_is_the_same(cache: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    blocked = tmp_path / "a-file"
    blocked.write_text("where the cache folder would be")
    made = tmp_path / "made" / "mlflow.db"
    assert not seed_sqlite_store(made, blocked / "cache")
    assert not made.parent.exists(), "nothing written"
    MlflowClient(tracking_uri=f"sqlite:///{made}").search_experiments()  # MLflow's own migrations
    seeded = tmp_path / "seeded" / "mlflow.db"
    assert seed_sqlite_store(seeded, cache)
    assert schema(seeded) == schema(made)
    assert rows(seeded, "alembic_version") == rows(made, "alembic_version")
    assert rows(seeded, "experiments") == [] and rows(seeded, "runs") == []
    assert rows(made, "experiments") != [], "MLflow's Default experiment, added by the store when opened"


def test_a_client_on_a_new_store_works_in_it_with_its_own_default_experiment(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/project/artifacts/mlflow.db"
    client = Tracking(uri, uri, store_cache=cache).client
    assert (tmp_path / "project" / "artifacts" / "mlflow.db").is_file()
    experiment = client.create_experiment("churn", artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "test.roc_auc", 0.8)
    assert client.get_run(run.info.run_id).data.metrics == {"test.roc_auc": 0.8}
    default = client.get_experiment("0")
    assert default.name == "Default" and default.artifact_location.startswith(str(tmp_path))


def test_an_existing_store_is_never_replaced(cache: Path, tmp_path: Path) -> None:
    existing = tmp_path / "mlflow.db"
    existing.write_bytes(b"not a copy")
    assert not seed_sqlite_store(existing, cache)
    assert existing.read_bytes() == b"not a copy"
