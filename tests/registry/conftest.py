"""The MLflow stores every registry test runs against: the embedded SQLite file and the PostgreSQL-backed server."""

from __future__ import annotations

import pytest

from tests.registry.support import Store


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One store per module and backend (test_cli.py uses the churn project's own store instead)."""
    if request.param == "sqlite":
        artifacts = tmp_path_factory.mktemp("mlartifacts")
        return Store(f"sqlite:///{artifacts}/mlflow.db", artifacts)
    url, artifacts = request.getfixturevalue("postgres_mlflow")
    return Store(url, artifacts)
