"""Whether the registry alias a bundle serves still points to the version it holds (``/readyz``).

The bundle records the alias (``serving.json`` ``model.alias``) and the registry (``registry.uri``, without
credentials); the serving machine may give the registry's URI with its credentials at the edge
(``HYDRAOPS_REGISTRY_URI``). An embedded SQLite registry is read with ``tracking.sqlite_reader`` (no MLflow
import); an MLflow server with one REST request; a database with an ``MlflowClient`` on explicit URIs. The answer is
reused for ``deploy.service.alias_check_seconds``; a registry that does not answer leaves the service ready,
the alias's version unknown (said in ``/readyz``'s body and the log): a registry blip never takes it down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hydraops.serving.spec import ServingSpec

logger = logging.getLogger(__name__)

#: Seconds the registry has to answer one check.
TIMEOUT = 2.0


@dataclass(frozen=True)
class AliasState:
    """One answer of the registry: the version the alias points to (None: to none), or why it is unknown."""

    points_to: str | None
    unknown: str | None = None
    checked: float = 0.0


class AliasWatch:
    """The alias of ``spec.model`` in the registry ``spec.registry["uri"]`` (or ``uri``), checked at most every
    ``spec.service["alias_check_seconds"]``. Inactive without an alias, a registry or with the check off."""

    def __init__(self, spec: ServingSpec, uri: str | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.model, self.alias, self.version = spec.model.name, spec.model.alias, spec.model.version
        self.uri = uri or (spec.registry or {}).get("uri")
        seconds = spec.service.get("alias_check_seconds", 5.0)
        self.every = None if seconds is None else float(seconds)
        self.clock = clock
        self._state: AliasState | None = None

    @property
    def active(self) -> bool:
        return bool(self.alias and self.uri and self.every is not None)

    def check(self) -> str | None:
        """Why the service must not take traffic (the alias moved), or None."""
        state = self.state()
        if state is None or state.unknown is not None or state.points_to == self.version:
            return None
        now = f"points at version {state.points_to}" if state.points_to is not None else "points at no version"
        return (f"alias {self.alias} of model {self.model} now {now}; this bundle serves version {self.version}: "
                "rebuild (hydraops build) and restart")  # fmt: skip

    def document(self) -> dict[str, Any] | None:
        """The alias as ``/readyz`` reports it: the version served, the one the alias points to, or why unknown."""
        state = self.state()
        if state is None:
            return None
        found = {"name": self.alias, "serves": self.version, "points_to": state.points_to}
        return {**found, "unknown": state.unknown} if state.unknown else found

    def state(self) -> AliasState | None:
        if not self.active:
            return None
        now = self.clock()
        if self._state is None or now - self._state.checked >= self.every:
            self._state = self._ask(now)
        return self._state

    def _ask(self, now: float) -> AliasState:
        try:
            return AliasState(self._points_to(), None, now)
        except Exception as error:  # noqa: BLE001 - any failure to ask is an unknown answer, never a refusal
            why = f"the registry did not answer ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}): version unknown"
            logger.warning("alias %s of model %s: %s", self.alias, self.model, why)
            return AliasState(None, why, now)

    def _points_to(self) -> str | None:
        uri = str(self.uri)
        if uri.startswith("sqlite:///") and "?" not in uri:
            from pathlib import Path

            from hydraops.tracking.sqlite_reader import SqliteReader

            path = Path(uri.removeprefix("sqlite:///"))
            if not path.is_file():
                raise FileNotFoundError(f"{path} does not exist")
            reader = SqliteReader(path, path, timeout=TIMEOUT)
            try:
                found = reader.registered_model(self.model)
            finally:
                reader.close()
            if found is None:
                raise LookupError(f"no registered model '{self.model}'")
            return found.aliases.get(str(self.alias))
        return self._mlflow_points_to(uri)

    def _mlflow_points_to(self, uri: str) -> str | None:
        """An MLflow server: one REST request bounded by TIMEOUT (no process-wide MLflow settings), with the
        credentials MLflow's own client takes (``MLFLOW_TRACKING_TOKEN``, or ``_USERNAME`` and ``_PASSWORD``).
        A database URI: an ``MlflowClient`` on it, its connection bounded by TIMEOUT."""
        if not uri.startswith(("http://", "https://")):
            return self._database_points_to(uri)
        import os

        import httpx

        token, user = os.environ.get("MLFLOW_TRACKING_TOKEN"), os.environ.get("MLFLOW_TRACKING_USERNAME")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = (user, os.environ.get("MLFLOW_TRACKING_PASSWORD", "")) if user and not token else None
        answer = httpx.get(f"{uri.rstrip('/')}/api/2.0/mlflow/registered-models/alias", params={"name": self.model, "alias": str(self.alias)},
                           headers=headers, auth=auth, timeout=TIMEOUT)  # fmt: skip
        if answer.status_code in (400, 404) and _alias_not_found(answer.json().get("error_code"), answer.json().get("message")):
            return None
        answer.raise_for_status()
        return str(answer.json()["model_version"]["version"])

    def _database_points_to(self, uri: str) -> str | None:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        from hydraops.tracking.connection import with_connect_timeout

        client = MlflowClient(tracking_uri=with_connect_timeout(uri, TIMEOUT), registry_uri=with_connect_timeout(uri, TIMEOUT))
        try:
            return str(client.get_model_version_by_alias(self.model, str(self.alias)).version)
        except MlflowException as error:
            if _alias_not_found(error.error_code, str(error)):
                return None
            raise


def _alias_not_found(code: str | None, message: str | None) -> bool:
    """An MLflow answer saying the alias points to nothing: a server says INVALID_PARAMETER_VALUE, a
    database store RESOURCE_DOES_NOT_EXIST, both naming the alias."""
    text = str(message or "").lower()
    return code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") and "alias" in text and "not found" in text


def public_uri(uri: str) -> str:
    """``uri`` without a user, a password or a query (a SQLite file's URI as it is)."""
    from urllib.parse import urlsplit, urlunsplit

    if uri.startswith("sqlite:"):
        return uri
    parts = urlsplit(uri)
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, f"{host}:{parts.port}" if parts.port else host, parts.path, "", ""))  # a query may hold a secret


__all__ = ["AliasState", "AliasWatch", "public_uri"]
