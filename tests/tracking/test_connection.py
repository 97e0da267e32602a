"""The tracking store is reached in bounded time: dead and silent servers and databases fail within
``stack.tracking_timeout`` with a TrackingError naming the config key, and MLflow's own HTTP retries are
bounded by the config (they took 12 minutes against a killed server)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hydraops.config.schemas import StackSpec
from hydraops.errors import ConfigError, TrackingError
from hydraops.features.online import SqliteOnlineStoreSpec
from hydraops.tracking.connection import HTTP_RETRIES_ENV, HTTP_TIMEOUT_ENV, check_store, one_attempt, tracking_failures
from hydraops.tracking.handle import Tracking
from tests.conftest import Run, copy_project
from tests.mlflow_server import free_port


def stack(tmp_path: Path, uri: str, timeout: float = 1.0, retries: int = 2) -> StackSpec:
    return StackSpec(
        name="test", tracking_uri=uri, artifact_location=str(tmp_path / "artifacts"), bento_home=str(tmp_path),
        online_store=SqliteOnlineStoreSpec(path=str(tmp_path / "o.db")),
        tracking_timeout=timeout, tracking_retries=retries,
    )  # fmt: skip


def connect(spec: StackSpec):
    """The stack's client: built only once both stores answered (a fresh handle, so nothing is cached)."""
    return Tracking.of(spec).client


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def _clients_imported() -> None:
    """The clock measures waiting, not importing (seconds on a busy machine)."""
    import mlflow  # noqa: F401
    import psycopg  # noqa: F401
    import requests  # noqa: F401
    import sqlalchemy  # noqa: F401


@pytest.fixture(autouse=True)
def _mlflow_http_env_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handle's client sets MLflow's HTTP settings in the environment: restore them after each test."""
    for name in (HTTP_TIMEOUT_ENV, HTTP_RETRIES_ENV, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        monkeypatch.setenv(name, "unset-by-test")
        monkeypatch.delenv(name)


def fails_within(seconds: float, stack_spec: StackSpec, key: str = "stack.tracking_uri") -> TrackingError:
    start = time.monotonic()
    with pytest.raises(TrackingError) as caught:
        connect(stack_spec)
    assert time.monotonic() - start < seconds
    assert f"({key})" in str(caught.value) and stack_spec.tracking_uri in str(caught.value)
    return caught.value


def test_dead_and_silent_servers_fail_within_the_timeout(tmp_path: Path, silent_port: int) -> None:
    fails_within(1.5, stack(tmp_path, f"http://127.0.0.1:{free_port()}", timeout=5))  # refused: at once
    error = fails_within(1 + 1.5, stack(tmp_path, f"http://127.0.0.1:{silent_port}", timeout=1))
    assert "(stack.tracking_timeout=1 s)" in str(error) and "timed out" in str(error)


def test_dead_and_silent_databases_fail_within_the_timeout(tmp_path: Path, silent_port: int) -> None:
    """MLflow retried a dead PostgreSQL for 109 s before a raw OperationalError."""
    fails_within(1.5, stack(tmp_path, f"postgresql://127.0.0.1:{free_port()}/x", timeout=5))
    fails_within(2 + 1.5, stack(tmp_path, f"postgresql://127.0.0.1:{silent_port}/x", timeout=1))  # libpq's 2 s minimum


def test_a_database_that_stops_answering_is_given_up_after_the_timeout(tmp_path: Path) -> None:
    """MLflow is handed the PostgreSQL URI with connect_timeout, so a mid-run hang is bounded too."""
    client = connect(stack(tmp_path, "postgresql://postgres@127.0.0.1:5432/test", timeout=3))
    assert client.tracking_uri == "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3"


def test_an_unwritable_sqlite_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    error = fails_within(1.0, stack(tmp_path, f"sqlite:///{tmp_path}/a-file/mlflow.db"))
    assert f"{tmp_path}/a-file is not a writable folder" in str(error)
    fails_within(1.0, stack(tmp_path, f"sqlite:///{tmp_path}"))  # a folder where the file should be
    check_store(f"sqlite:///{tmp_path}/new/folders/mlflow.db", "stack.tracking_uri", 1)  # MLflow creates missing folders
    assert not (tmp_path / "new").exists(), "the check creates nothing"


def test_a_different_registry_is_checked_under_its_own_key(tmp_path: Path) -> None:
    spec = stack(tmp_path, f"sqlite:///{tmp_path}/mlflow.db")
    spec.registry_uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrackingError, match=r"\(stack.registry_uri\)"):
        connect(spec)


def test_mlflow_http_retries_are_bounded_by_the_config(tmp_path: Path) -> None:
    connect(stack(tmp_path, f"sqlite:///{tmp_path}/mlflow.db", timeout=2.5, retries=1))
    assert os.environ[HTTP_TIMEOUT_ENV] == "3" and os.environ[HTTP_RETRIES_ENV] == "1"
    with one_attempt():
        assert os.environ[HTTP_RETRIES_ENV] == "0"
    assert os.environ[HTTP_RETRIES_ENV] == "1"


def test_a_failing_request_to_a_dead_server_ends_in_bounded_time(tmp_path: Path) -> None:
    """What the config bounds: a request MLflow makes to a server that is gone (12 min 20 s before)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    connect(stack(tmp_path, f"sqlite:///{tmp_path}/mlflow.db", timeout=1, retries=1))
    start = time.monotonic()
    with pytest.raises(MlflowException, match="Max retries exceeded"):
        MlflowClient(tracking_uri=f"http://127.0.0.1:{free_port()}").get_experiment_by_name("x")
    assert time.monotonic() - start < 5  # one retry after 0 s (+ up to 1 s jitter)


def test_a_failure_while_the_store_is_gone_names_the_store(tmp_path: Path) -> None:
    """The first error, as a TrackingError naming the key when the store no longer answers; other errors
    pass through unchanged."""
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrackingError, match=rf"the tracking store {dead} \(stack.tracking_uri\) failed: upload failed") as caught:
        with tracking_failures(dead, 1):
            error = RuntimeError("upload failed")
            error.add_note("the run r1 could not be ended FAILED")
            raise error
    assert caught.value.__notes__ == ["the run r1 could not be ended FAILED"]
    with pytest.raises(ValueError), tracking_failures(f"sqlite:///{tmp_path}/mlflow.db", 1):
        raise ValueError("a bug of ours")


@pytest.mark.parametrize("timeout", [0, -1])
def test_a_timeout_must_be_positive(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ConfigError, match="stack.tracking_timeout"):
        connect(stack(tmp_path, f"sqlite:///{tmp_path}/mlflow.db", timeout=timeout))


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["http", "postgresql"])
def test_train_against_a_dead_store_fails_fast_naming_the_key(tmp_path: Path, hydraops: Run, scheme: str) -> None:
    """Before any feature is computed (the project has no data yet): exit 2, one message, no traceback."""
    project = copy_project("churn", tmp_path / "churn")
    uri = f"{scheme}://127.0.0.1:{free_port()}" + ("/x" if scheme == "postgresql" else "")
    start = time.monotonic()
    result = hydraops("train", "debug=fast", f"stack.tracking_uri={uri}", "stack.tracking_timeout=1", cwd=project)
    elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{uri} (stack.tracking_uri)" in result.stderr and "Traceback" not in result.stderr
    assert elapsed < 30, f"{elapsed:.1f} s (imports and composing included)"
