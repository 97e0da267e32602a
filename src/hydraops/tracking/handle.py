"""The MLflow stores of a stack, reached through one explicit client: nothing process-wide is set.

    tracking = Tracking.of(spec.stack)
    tracking.client.search_runs(...)      # stores checked (bounded time) on first use
    tracking.reader().runs(...)           # what planners read: no MLflow import on an embedded SQLite store

Every MLflow call below ``cli/`` goes through a handle like this one (never a process-wide tracking URI).
Importing this module imports no MLflow: the client is made on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.tracking.sqlite_seed import default_store_cache

if TYPE_CHECKING:
    from hydraops.config.schemas import StackSpec
    from hydraops.tracking.reading import TrackingReader


@dataclass(frozen=True)
class Tracking:
    """A stack's tracking and model registry stores, with the time a request may take."""

    tracking_uri: str
    registry_uri: str
    timeout: float = 10.0
    retries: int = 2
    store_cache: Path | None = field(default_factory=default_store_cache)  # empty stores to copy; None: MLflow makes each

    @classmethod
    def of(cls, stack: StackSpec) -> Tracking:
        return cls(stack.tracking_uri, stack.registry_uri or stack.tracking_uri, stack.tracking_timeout, stack.tracking_retries)

    @cached_property
    def client(self) -> Any:  # an MlflowClient
        """An MlflowClient with explicit URIs, once both stores answered within ``timeout`` (a TrackingError
        naming the config key when not). A new embedded SQLite store starts as a copy of an empty one from
        ``store_cache`` (``sqlite_seed``): MLflow's migrations run once per MLflow version, not once per store."""
        from mlflow.tracking import MlflowClient

        from hydraops.tracking.connection import with_connect_timeout
        from hydraops.tracking.sqlite_seed import seed_sqlite_store

        self.check()
        for uri in {self.tracking_uri, self.registry_uri}:
            if (path := _sqlite_file(uri)) is not None and self.store_cache is not None:
                seed_sqlite_store(Path(path), self.store_cache)
        return MlflowClient(
            tracking_uri=with_connect_timeout(self.tracking_uri, self.timeout),
            registry_uri=with_connect_timeout(self.registry_uri, self.timeout),
        )

    def reader(self) -> TrackingReader:
        """The read-only view the planners use: a ``SqliteReader`` (standard library, file opened read-only)
        when both stores are embedded SQLite files, else an ``MlflowReader`` over :attr:`client`."""
        return self._reader

    @cached_property
    def _reader(self) -> TrackingReader:
        from hydraops.tracking.connection import check_bounds, check_store
        from hydraops.tracking.reading import MlflowReader
        from hydraops.tracking.sqlite_reader import SqliteReader

        tracking, registry = _sqlite_file(self.tracking_uri), _sqlite_file(self.registry_uri)
        if tracking is None or registry is None:
            return MlflowReader(self.client)
        check_bounds(self.timeout, self.retries)
        check_store(self.tracking_uri, "stack.tracking_uri", self.timeout)
        if self.registry_uri != self.tracking_uri:
            check_store(self.registry_uri, "stack.registry_uri", self.timeout)
        return SqliteReader(tracking, registry, timeout=self.timeout)

    def check(self) -> None:
        """Both stores answer within ``timeout`` (a TrackingError naming the config key when not), and MLflow's
        requests are bounded by it; creates nothing (an embedded SQLite store is created by the client)."""
        from hydraops.tracking.connection import bound_requests, check_bounds, check_store

        check_bounds(self.timeout, self.retries)
        bound_requests(self.timeout, self.retries)
        check_store(self.tracking_uri, "stack.tracking_uri", self.timeout)
        if self.registry_uri != self.tracking_uri:
            check_store(self.registry_uri, "stack.registry_uri", self.timeout)

    def missing_store(self) -> str | None:
        """``<file> (stack.<key>)`` when the registry is an embedded SQLite file that does not exist yet (MLflow
        would create it on first use, so read-only verbs and ``plan`` stop before asking); None otherwise."""
        key = "registry_uri" if self.registry_uri != self.tracking_uri else "tracking_uri"
        uri = self.registry_uri
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
            return f"{uri.removeprefix('sqlite:///')} (stack.{key})"
        return None


def _sqlite_file(uri: str) -> str | None:
    """The file of a plain ``sqlite:///<path>`` URI (no query, not in memory); None for any other store."""
    if not uri.startswith("sqlite:///") or "?" in uri:
        return None
    path = uri.removeprefix("sqlite:///")
    return path if path and path != ":memory:" else None


__all__ = ["Tracking"]
