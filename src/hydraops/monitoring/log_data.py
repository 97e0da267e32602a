"""The service's prediction log over a time window as current data (``hydraops monitor window=7d``), streamed
in batches: parquet files day by day, or a PostgreSQL table through a server-side cursor.

Only the monitored model's rows (``model_name``) are read, of every version of it that served in the window
(counted in ``versions``: the report says which). Columns as monitoring sees them: ``feature.<f>`` → ``<f>``,
and ``prediction``, ``time`` (the timestamp that orders them), ``status.<f>`` (present/missing/expired...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.errors import MonitoringError
from hydraops.serving.prediction_log import FEATURE, STATUS, log_files, resolve, rows_table, table_identifier

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

TIME, MODEL, VERSION = "time", "model_name", "model_version"


@dataclass(frozen=True)
class Window:
    """``[start, end)``, both UTC."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"[{_iso(self.start)}, {_iso(self.end)})"


class LogData:
    """The rows ``model`` served in ``window``, from the log at ``location`` (``stack.prediction_log``: a
    declaration, a directory or a URL, with ``table``); ``url`` replaces its PostgreSQL URL (with credentials)
    or directory."""

    key = "window"
    timestamp = TIME

    def __init__(self, location: Any, window: Window, model: str, *, url: str | None = None, table: str | None = None):
        self.kind, where, self.table = resolve(location, table)
        self.where = url or where
        self.window, self.model = window, model
        self.public = public_url(self.where) if self.kind == "postgresql" else self.where
        self.name = f"the prediction log at {self.public}" + (f" (table {self.table})" if self.kind == "postgresql" else "") + f" over {window}"
        self.versions: dict[str, int] = {}  # rows per model version, counted while reading

    @property
    def source(self) -> str:
        return f"prediction log {self.public}{'/' + self.table if self.kind == 'postgresql' else ''}"

    @property
    def identity(self) -> str:
        return f"{self.source} {self.window}"

    @cached_property
    def statuses(self) -> tuple[str, ...]:
        return tuple(name[len(STATUS) :] for name in self._raw if name.startswith(STATUS))

    def columns(self) -> list[str]:
        return [_monitored(name) for name in self._raw if name.startswith((FEATURE, STATUS)) or name in (TIME, "prediction")]

    def chunks(self, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
        wanted = list(dict.fromkeys([*(_logged(name) for name in columns), VERSION]))
        batches = self._parquet(wanted, chunk_rows) if self.kind == "parquet" else self._postgresql(wanted, chunk_rows)
        for table in batches:
            frame = table.to_pandas()
            for version, count in frame[VERSION].value_counts(dropna=False).items():
                self.versions[str(version)] = self.versions.get(str(version), 0) + int(count)
            yield frame.rename(columns={name: _monitored(name) for name in frame.columns})

    @cached_property
    def _raw(self) -> tuple[str, ...]:
        """The log's columns (the union over its files, which other versions may have written with other inputs)."""
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            names = {name: None for path in self._files for name in pq.read_schema(path).names}
            return tuple(names)
        with self._cursor() as cursor:
            cursor.execute(_sql("SELECT * FROM {} LIMIT 0", table_identifier(self.table)))
            return tuple(d.name for d in cursor.description)

    @cached_property
    def _files(self) -> list[Path]:
        folder = Path(self.where)
        if not folder.is_dir():
            raise MonitoringError(f"no prediction log at {folder} (stack.prediction_log.path): nothing was logged there yet",
                                  key="stack.prediction_log.path", path=str(folder))  # fmt: skip
        return log_files(folder, self.window.start, self.window.end)

    def _parquet(self, wanted: list[str], chunk_rows: int) -> Iterator[pa.Table]:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        pending: list[pa.Table] = []
        for path in self._files:
            source = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps every row group read until the end
            present = [name for name in dict.fromkeys([*wanted, TIME, MODEL]) if name in source.schema_arrow.names]
            for batch in source.iter_batches(batch_size=chunk_rows, columns=present):
                kind = batch.schema.field(TIME).type
                keep = pc.and_(pc.and_(pc.greater_equal(batch[TIME], pa.scalar(self.window.start, kind)), pc.less(batch[TIME], pa.scalar(self.window.end, kind))),
                               pc.equal(batch[MODEL], self.model))  # fmt: skip
                rows = pa.Table.from_batches([batch]).filter(keep)
                if rows.num_rows:
                    pending.append(rows)
                if sum(t.num_rows for t in pending) >= chunk_rows:
                    yield _columns_of(pa.concat_tables(pending, promote_options="permissive"), wanted)
                    pending = []
        if pending:
            yield _columns_of(pa.concat_tables(pending, promote_options="permissive"), wanted)

    def _postgresql(self, wanted: list[str], chunk_rows: int) -> Iterator[pa.Table]:
        from psycopg import sql

        present = [name for name in wanted if name in self._raw]
        query = sql.SQL('SELECT {} FROM {} WHERE "time" >= %s AND "time" < %s AND model_name = %s').format(
            sql.SQL(", ").join(sql.Identifier(name) for name in present), table_identifier(self.table)
        )
        with self._cursor(name="hydraops_monitor") as cursor:
            cursor.itersize = chunk_rows
            cursor.execute(query, [self.window.start, self.window.end, self.model])
            while rows := cursor.fetchmany(chunk_rows):
                yield _columns_of(rows_table(rows, cursor.description), wanted)

    def _cursor(self, name: str | None = None):
        """A cursor of a new connection (closed with it); the log's errors as MonitoringErrors naming it."""
        from contextlib import contextmanager

        import psycopg

        @contextmanager
        def opened():
            try:
                with psycopg.connect(self.where, connect_timeout=10) as connection, connection.cursor(name=name) as cursor:
                    yield cursor
            except psycopg.errors.UndefinedTable:
                raise MonitoringError(f"no prediction log table {self.table} at {self.public} (stack.prediction_log.table): nothing was logged there yet",
                                      key="stack.prediction_log.table") from None  # fmt: skip
            except psycopg.Error as error:
                raise MonitoringError(f"the prediction log at {self.public} cannot be read: {str(error).strip()}", key="stack.prediction_log.url") from None

        return opened()


def _columns_of(table: pa.Table, wanted: list[str]) -> pa.Table:
    """``wanted`` columns of ``table``, a missing one (not logged by the versions read) as nulls."""
    import pyarrow as pa

    missing = {name: pa.nulls(table.num_rows, pa.float64() if name.startswith(FEATURE) else pa.string()) for name in wanted if name not in table.column_names}
    return pa.table({name: missing[name] if name in missing else table[name] for name in wanted})


def _monitored(name: str) -> str:
    return name[len(FEATURE) :] if name.startswith(FEATURE) else name


def _logged(name: str) -> str:
    return name if name.startswith(STATUS) or name in (TIME, "prediction", VERSION) else FEATURE + name


def public_url(url: str) -> str:
    """A URL as it may be shown: scheme, host, port and database, never a user or password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{parts.hostname or ''}:{parts.port}" if parts.port else parts.hostname or "", parts.path, "", ""))


def _sql(text: str, *parts):
    from psycopg import sql

    return sql.SQL(text).format(*parts)


def _iso(moment: datetime) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["LogData", "Window", "public_url"]
