"""Reaching the tracking store in bounded time: a short check before MLflow touches it, MLflow's own HTTP
retries bounded by the stack's config, and a store that dies mid-run reported as a TrackingError naming
the config key — so a dead server or database fails in seconds, never minutes. ``tracking.handle.Tracking``
runs these checks before it hands out its client; nothing here points MLflow anywhere."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydraops.config.secrets import redact_url
from hydraops.errors import ConfigError, HydraopsError, Problem, TrackingError

#: MLflow's HTTP client settings, read at every request (mlflow.environment_variables).
HTTP_TIMEOUT_ENV = "MLFLOW_HTTP_REQUEST_TIMEOUT"
HTTP_RETRIES_ENV = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
HTTP_BACKOFF_ENV = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"
#: SQLAlchemy schemes whose driver takes ``connect_timeout`` (seconds; PostgreSQL waits at least 2 s).
_TIMEOUT_SCHEMES = ("postgresql", "mysql")


def bound_requests(timeout: float, retries: int) -> None:
    """MLflow's HTTP requests wait ``timeout`` seconds each and are retried ``retries`` times (backoff 0, 2,
    4... s) instead of MLflow's 120 s and 7 retries (minutes against a dead server)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in our output
    os.environ[HTTP_TIMEOUT_ENV] = str(max(1, math.ceil(timeout)))
    os.environ[HTTP_RETRIES_ENV] = str(retries)
    os.environ[HTTP_BACKOFF_ENV] = "1"


@contextmanager
def one_attempt() -> Iterator[None]:
    """MLflow's HTTP requests in the block are tried once, without retries: for clean-up after a failure."""
    saved = os.environ.get(HTTP_RETRIES_ENV)
    os.environ[HTTP_RETRIES_ENV] = "0"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(HTTP_RETRIES_ENV, None)
        else:
            os.environ[HTTP_RETRIES_ENV] = saved


def check_store(uri: str, key: str, timeout: float) -> None:
    """A TrackingError naming ``key`` unless the store at ``uri`` answers within ``timeout`` seconds: an
    MLflow server's /health, a database connection, or a writable folder for a SQLite file."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("http", "https"):
        _check_server(uri, key, timeout)
    elif scheme == "sqlite":
        _check_sqlite(uri, key)
    elif scheme in (*_TIMEOUT_SCHEMES, "mssql"):
        _check_database(uri, key, timeout)


@contextmanager
def tracking_failures(tracking_uri: str, timeout: float) -> Iterator[None]:
    """An error in the block caused by the tracking store going away is re-raised as a TrackingError naming
    ``stack.tracking_uri``: the error says so (connection refused or reset, timed out, database gone), or the
    store no longer answers the connection check. Its message is the first error's; its notes (a run that
    could not be ended) are kept."""
    try:
        yield
    except HydraopsError:
        raise
    except Exception as error:
        if not (lost_connection(error) or not answers(tracking_uri, timeout)):
            raise
        tracking = TrackingError(f"the tracking store {redact_url(tracking_uri)} (stack.tracking_uri) failed: {_one_line(error)}")
        for note in getattr(error, "__notes__", []):
            tracking.add_note(note)
        raise tracking from error


def answers(uri: str, timeout: float) -> bool:
    """Whether the store at ``uri`` passes :func:`check_store` now."""
    try:
        check_store(uri, "stack.tracking_uri", timeout)
    except TrackingError:
        return False
    return True


def lost_connection(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) is a connection to the store that failed."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_connection_error(current):
            return True
        current = current.__cause__ or current.__context__
    return False


_CONNECTION_ERRORS = {
    "builtins.ConnectionError", "builtins.TimeoutError", "requests.exceptions.ConnectionError", "requests.exceptions.Timeout",
    "requests.exceptions.ChunkedEncodingError", "urllib3.exceptions.MaxRetryError", "urllib3.exceptions.ProtocolError",
    "sqlalchemy.exc.OperationalError", "sqlalchemy.exc.InterfaceError", "psycopg.OperationalError",
}  # fmt: skip


def _is_connection_error(error: BaseException) -> bool:
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__}
    return bool(names & _CONNECTION_ERRORS)


def _check_server(uri: str, key: str, timeout: float) -> None:
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=timeout).raise_for_status()
    except requests.RequestException as error:
        raise TrackingError(
            f"MLflow tracking server {redact_url(uri)} ({key}) is unreachable (stack.tracking_timeout={timeout:g} s): "
            f"{_one_line(error)}; start one (mlflow server --backend-store-uri postgresql://127.0.0.1:5432/test "
            "--host 127.0.0.1 --port 5000) or use stack=local"
        ) from error


def _check_database(uri: str, key: str, timeout: float) -> None:
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    seconds = max(2, math.ceil(timeout))
    args = {"connect_timeout": seconds} if uri.split(":", 1)[0].split("+", 1)[0] in _TIMEOUT_SCHEMES else {}
    try:
        engine = sqlalchemy.create_engine(uri, connect_args=args, poolclass=NullPool)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except Exception as error:  # a missing driver, a bad URL, a refused or timed-out connection
        raise TrackingError(
            f"the tracking database {redact_url(uri)} ({key}) is unreachable (stack.tracking_timeout={seconds} s): "
            f"{_one_line(getattr(error, 'orig', None) or error)}"  # the driver's message, without SQLAlchemy's links
        ) from error


def _check_sqlite(uri: str, key: str) -> None:
    """An existing store must be a readable file; a new one is created by MLflow with its folders, so the
    nearest existing folder must be writable."""
    path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""
    if not path or path == ":memory:":
        return
    target = Path(path)
    if target.exists():
        if not (target.is_file() and os.access(target, os.R_OK)):
            raise TrackingError(f"the tracking store {uri} ({key}) is not a readable SQLite file")
        return
    folder = next(p for p in target.parents if p.exists())
    if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        raise TrackingError(f"the tracking store {uri} ({key}) cannot be created: {folder} is not a writable folder")


def with_connect_timeout(uri: str, timeout: float) -> str:
    """A PostgreSQL/MySQL URI with ``connect_timeout``, so a database that stops answering mid-run is given
    up after that long (a URI that sets it already is left as is)."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    if scheme not in _TIMEOUT_SCHEMES or "connect_timeout=" in uri:
        return uri
    return f"{uri}{'&' if '?' in uri else '?'}connect_timeout={max(2, math.ceil(timeout))}"


def check_bounds(timeout: float, retries: int) -> None:
    problems = []
    if not timeout > 0:
        problems.append(Problem("stack.tracking_timeout", "stack", f"{timeout}: expected a number of seconds > 0"))
    if retries < 0:
        problems.append(Problem("stack.tracking_retries", "stack", f"{retries}: expected a count >= 0"))
    if problems:
        raise ConfigError(problems)


def _one_line(error: BaseException) -> str:
    """The error on one line, cut at 1000 characters (MLflow's messages run over several)."""
    return (" ".join(str(error).split()) or type(error).__name__)[:1000]


__all__ = ["answers", "bound_requests", "check_bounds", "check_store", "lost_connection", "one_attempt", "tracking_failures", "with_connect_timeout"]
