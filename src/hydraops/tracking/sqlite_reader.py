"""The planners' questions answered from an embedded MLflow SQLite store with the standard library only.

MLflow's schema (tables ``experiments``, ``runs``, ``tags``, ``latest_metrics``, ``registered_models``,
``registered_model_tags``, ``registered_model_aliases``, ``model_versions``, ``model_version_tags``), read as
MLflow's own SQL store reads it: the default workspace, runs searched active only, versions in stage
``Deleted_Internal`` hidden, a metric's latest value (NaN where flagged). The file is opened read-only and
never created or migrated; a missing file or table reads as an empty store, as a new store would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from hydraops.errors import TrackingError
from hydraops.tracking.reading import ModelRecord, RunRecord, TrackingReader, VersionRecord

#: MLflow's registry and experiments live in a workspace; a store without workspaces uses this one.
WORKSPACE = "default"
#: The stage MLflow gives a deleted model version (``mlflow.entities.model_registry.model_version_stages``).
DELETED_VERSION = "Deleted_Internal"
_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters
_VERSION_ORDER = "ORDER BY last_updated_time DESC, name ASC, version DESC"


class SqliteReader(TrackingReader):
    """Reads ``tracking`` (runs, experiments) and ``registry`` (models, versions): paths of SQLite files,
    the same file for the embedded default; ``keys`` are their config keys, for error messages."""

    def __init__(self, tracking: Path | str, registry: Path | str | None = None, *, timeout: float = 10.0,
                 keys: tuple[str, str] = ("stack.tracking_uri", "stack.registry_uri")) -> None:  # fmt: skip
        self._paths = (Path(tracking), Path(registry if registry is not None else tracking))
        self._timeout, self._keys = timeout, keys
        self._connections: dict[Path, sqlite3.Connection] = {}
        self._workspaces: dict[Path, set[str]] = {}

    # --- tracking store -----------------------------------------------------------------------------------
    def experiment_id(self, name: str) -> str | None:
        where, args = self._in_workspace(self._tracking, "experiments", "name = ?", [name])
        rows = self._query(self._tracking, f"SELECT experiment_id FROM experiments WHERE {where}", args)
        return str(rows[0][0]) if rows else None

    def runs(self, experiment_id: str, *, tags: Mapping[str, str] | None = None, status: str | None = None,
             max_results: int = 1000) -> list[RunRecord]:  # fmt: skip
        where, args = ["r.experiment_id = ?", "r.lifecycle_stage = 'active'"], [_as_int(experiment_id)]
        if status is not None:
            where.append("r.status = ?")
            args.append(status)
        for key, value in (tags or {}).items():
            where.append("EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ? AND t.value = ?)")
            args += [key, value]
        sql = f"{_RUN_COLUMNS} FROM runs r WHERE {' AND '.join(where)} ORDER BY r.start_time DESC, r.run_uuid LIMIT ?"
        return self._runs(self._query(self._tracking, sql, [*args, max_results]))

    def run(self, run_id: str) -> RunRecord | None:
        found = self._runs(self._query(self._tracking, f"{_RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?", [run_id]))
        return found[0] if found else None

    # --- model registry -----------------------------------------------------------------------------------
    def registered_model(self, name: str) -> ModelRecord | None:
        db = self._registry
        where, args = self._in_workspace(db, "registered_models", "name = ?", [name])
        if not self._query(db, f"SELECT name FROM registered_models WHERE {where}", args):
            return None
        where, args = self._in_workspace(db, "registered_model_tags", "name = ?", [name])
        tags = dict(self._query(db, f"SELECT key, value FROM registered_model_tags WHERE {where}", args))
        where, args = self._in_workspace(db, "registered_model_aliases", "name = ?", [name])
        aliases = {alias: str(version) for alias, version in self._query(db, f"SELECT alias, version FROM registered_model_aliases WHERE {where}", args)}
        return ModelRecord(name, tags, aliases)

    def versions(self, model: str | None = None, *, run_id: str | None = None) -> list[VersionRecord]:
        condition, value = ("name = ?", model) if run_id is None else ("run_id = ?", run_id)
        where, args = self._in_workspace(self._registry, "model_versions", f"{condition} AND current_stage != ?", [value, DELETED_VERSION])
        return self._versions(self._query(self._registry, f"SELECT name, version, run_id FROM model_versions WHERE {where} {_VERSION_ORDER}", args))

    def version(self, model: str, version: str | int) -> VersionRecord | None:
        where, args = self._in_workspace(self._registry, "model_versions", "name = ? AND version = ? AND current_stage != ?",
                                    [model, _as_int(version), DELETED_VERSION])  # fmt: skip
        found = self._versions(self._query(self._registry, f"SELECT name, version, run_id FROM model_versions WHERE {where}", args))
        return found[0] if found else None

    # --- reading ------------------------------------------------------------------------------------------
    @property
    def _tracking(self) -> Path:
        return self._paths[0]

    @property
    def _registry(self) -> Path:
        return self._paths[1]

    def _runs(self, rows: list[tuple]) -> list[RunRecord]:
        ids = [row[0] for row in rows]
        tags = self._by_run("SELECT run_uuid, key, value FROM tags", ids)
        metrics = self._by_run("SELECT run_uuid, key, CASE WHEN is_nan THEN 'nan' ELSE value END FROM latest_metrics", ids)
        return [RunRecord(run_id, str(experiment), status, start, stage, tags.get(run_id, {}),
                          {key: float(value) for key, value in metrics.get(run_id, {}).items()})
                for run_id, experiment, status, start, stage in rows]  # fmt: skip

    def _by_run(self, select: str, ids: list[str]) -> dict[str, dict]:
        """run id → {key: value} of ``select`` (run id, key, value) over the runs ``ids``."""
        found: dict[str, dict] = {}
        for chunk in _chunks(ids):
            marks = ", ".join("?" * len(chunk))
            for run_id, key, value in self._query(self._tracking, f"{select} WHERE run_uuid IN ({marks})", chunk):
                found.setdefault(run_id, {})[key] = value
        return found

    def _versions(self, rows: list[tuple]) -> list[VersionRecord]:
        records = []
        for name, version, run_id in rows:
            where, args = self._in_workspace(self._registry, "model_version_tags", "name = ? AND version = ?", [name, version])
            tags = dict(self._query(self._registry, f"SELECT key, value FROM model_version_tags WHERE {where}", args))
            records.append(VersionRecord(name, str(version), run_id, tags))
        return records

    def _query(self, path: Path, sql: str, args: Iterable = ()) -> list[tuple]:
        """The rows of ``sql`` on the store at ``path``: none when the file or the table does not exist."""
        connection = self._connection(path)
        if connection is None:
            return []
        try:
            return connection.execute(sql, list(args)).fetchall()
        except sqlite3.Error as error:
            if isinstance(error, sqlite3.OperationalError) and "no such table" in str(error):
                return []
            raise self._error(path, error) from error

    def _connection(self, path: Path) -> sqlite3.Connection | None:
        """A read-only connection to ``path``, opened once; None while the file does not exist."""
        if path in self._connections:
            return self._connections[path]
        if not path.is_file():
            return None
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=self._timeout, check_same_thread=False)
            rows = connection.execute(_WORKSPACE_TABLES).fetchall()
        except sqlite3.Error as error:
            raise self._error(path, error) from error
        self._connections[path] = connection
        self._workspaces[path] = {table for (table,) in rows}
        return connection

    def _in_workspace(self, path: Path, table: str, where: str, args: list) -> tuple[str, list]:
        """``where`` limited to MLflow's default workspace when ``table`` has a workspace column (newer schemas)."""
        self._connection(path)
        if table not in self._workspaces.get(path, ()):
            return where, args
        return f"{where} AND workspace = ?", [*args, WORKSPACE]

    def _error(self, path: Path, error: Exception) -> TrackingError:
        key = self._keys[0] if path == self._tracking else self._keys[1]
        return TrackingError(f"the MLflow store {path} ({key}) could not be read: {error}")

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()


_RUN_COLUMNS = "SELECT r.run_uuid, r.experiment_id, r.status, r.start_time, r.lifecycle_stage"
#: The tables with a workspace column (MLflow 3.x schemas; older ones have none).
_WORKSPACE_TABLES = ("SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c "
                     "WHERE m.type = 'table' AND c.name = 'workspace'")  # fmt: skip


def _as_int(value: str | int) -> int | str:
    """An id or version number as the integer MLflow stores (a non-number matches nothing)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


__all__ = ["SqliteReader"]
