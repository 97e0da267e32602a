"""What the planners read from the tracking store and the model registry, behind one small interface.

    reader = tracking.reader()           # SqliteReader on an embedded SQLite store, MlflowReader otherwise
    reader.runs(experiment_id, tags={T.INPUTS_DIGEST: digest}, status="FINISHED", max_results=20)

Two implementations answer alike (``tests/tracking/test_reader_contract.py``): :class:`MlflowReader` through
an ``MlflowClient`` (any store MLflow reaches), and ``tracking.sqlite_reader.SqliteReader``, which reads
MLflow's SQLite schema with the standard library, so ``plan`` pays no MLflow import. Answers are plain records,
not MLflow entities; what MLflow's client hides (deleted runs in searches, deleted versions) is hidden here too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunRecord:
    """A run as the planners see it: its state, tags and latest metrics (NaN where MLflow says NaN)."""

    run_id: str
    experiment_id: str
    status: str
    start_time: int | None
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionRecord:
    """A registered model version: the run it came from and its tags."""

    model: str
    version: str
    run_id: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelRecord:
    """A registered model: its tags (the audit history among them) and its aliases (alias → version)."""

    name: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


class TrackingReader(ABC):
    """Read-only questions about runs and the registry. Searches leave out deleted runs and versions; a run
    asked for by id is returned deleted or not, as MLflow does."""

    @abstractmethod
    def experiment_id(self, name: str) -> str | None:
        """The id of the experiment ``name`` (deleted or not), or None."""

    @abstractmethod
    def runs(self, experiment_id: str, *, tags: Mapping[str, str] | None = None, status: str | None = None,
             max_results: int = 1000) -> list[RunRecord]:  # fmt: skip
        """The experiment's active runs carrying every tag of ``tags`` (and in ``status``), newest first
        (start time descending, then run id)."""

    @abstractmethod
    def run(self, run_id: str) -> RunRecord | None:
        """The run ``run_id``, or None when there is none."""

    @abstractmethod
    def registered_model(self, name: str) -> ModelRecord | None:
        """The registered model ``name``, or None."""

    @abstractmethod
    def versions(self, model: str | None = None, *, run_id: str | None = None) -> list[VersionRecord]:
        """The versions of ``model`` (or registered from ``run_id``) in MLflow's order: last updated first,
        then by name, then newest version first."""

    @abstractmethod
    def version(self, model: str, version: str | int) -> VersionRecord | None:
        """Version ``version`` of ``model``, or None."""


class MlflowReader(TrackingReader):
    """The questions asked through an ``MlflowClient``: any store MLflow reaches (server, database, files)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def experiment_id(self, name: str) -> str | None:
        found = self.client.get_experiment_by_name(name)
        return None if found is None else str(found.experiment_id)

    def runs(self, experiment_id: str, *, tags: Mapping[str, str] | None = None, status: str | None = None,
             max_results: int = 1000) -> list[RunRecord]:  # fmt: skip
        clauses = [f"tags.`{key}` = '{value}'" for key, value in (tags or {}).items()]
        clauses += [f"attributes.status = '{status}'"] if status else []
        found = self.client.search_runs([experiment_id], " and ".join(clauses), max_results=max_results)
        return [_run_record(run) for run in found]

    def run(self, run_id: str) -> RunRecord | None:
        return _missing_as_none(lambda: _run_record(self.client.get_run(run_id)))

    def registered_model(self, name: str) -> ModelRecord | None:
        found = _missing_as_none(lambda: self.client.get_registered_model(name))
        if found is None:
            return None
        return ModelRecord(found.name, dict(found.tags), {alias: str(version) for alias, version in found.aliases.items()})

    def versions(self, model: str | None = None, *, run_id: str | None = None) -> list[VersionRecord]:
        query = f"name='{model}'" if run_id is None else f"run_id='{run_id}'"
        return [_version_record(found) for found in self.client.search_model_versions(query)]

    def version(self, model: str, version: str | int) -> VersionRecord | None:
        return _missing_as_none(lambda: _version_record(self.client.get_model_version(model, str(version))))


def reading(source: Any) -> TrackingReader:
    """``source`` itself when it is a reader; an ``MlflowClient`` read through :class:`MlflowReader`."""
    return source if isinstance(source, TrackingReader) else MlflowReader(source)


def designated_version(tracking: Any, name: str, alias: str | None, version: int | None, error: type[Exception]) -> VersionRecord:
    """The version ``version`` names, else the one ``alias`` designates, read through ``tracking`` (a Tracking);
    ``error`` (a HydraopsError type) naming what is missing: the store, the model, the alias or the version."""
    missing = tracking.missing_store()
    if missing is not None:
        raise error(f"no registry yet: {missing} does not exist; run `hydraops train` and `hydraops promote` first")
    reader = tracking.reader()
    model = reader.registered_model(name)
    if model is None:
        raise error(f"no registered model '{name}' (registry.name) in the registry: run `hydraops train` first", key="registry.name")
    if version is None:
        if alias not in model.aliases:
            known = ", ".join(f"{a} → v{v}" for a, v in sorted(model.aliases.items())) or "none"
            raise error(f"alias={alias}: model '{name}' has no alias '{alias}' (aliases: {known}); "
                        "`hydraops promote` sets one, or pass version=N", key="alias")  # fmt: skip
        version = model.aliases[alias]
    found = reader.version(name, version)
    if found is None:
        raise error(f"version={version}: model '{name}' has no such version", key="version")
    return found


def _run_record(run: Any) -> RunRecord:
    info = run.info
    return RunRecord(info.run_id, str(info.experiment_id), info.status, info.start_time, info.lifecycle_stage,
                     dict(run.data.tags), dict(run.data.metrics))  # fmt: skip


def _version_record(found: Any) -> VersionRecord:
    return VersionRecord(found.name, str(found.version), found.run_id, dict(found.tags))


def _missing_as_none(read):
    """``read()``, or None when MLflow says the thing does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return read()
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None


__all__ = ["MlflowReader", "ModelRecord", "RunRecord", "TrackingReader", "VersionRecord", "reading"]
