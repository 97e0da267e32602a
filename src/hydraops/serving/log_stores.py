"""Where the prediction log writer puts its batches: parquet files (the local stack) or a PostgreSQL table
(the shared stack). Both take ``(columns, schema)``: the batch as Python values of the log's Arrow schema.

Parquet: ``<dir>/date=YYYY-MM-DD/part-<time>-<pid>-<token>-<n>.parquet``, a file per batch and UTC date,
named by the worker process (its pid and a random token), written to a hidden temporary file then renamed,
so a reader never sees half a file and workers never clash. PostgreSQL: the table (and its schema) created
when missing, a column the bundle writes and the table lacks added (another version may have other
inputs), the rows copied in one ``COPY``.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.serving.prediction_log import SQL_TYPES, resolve, table_identifier

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger(__name__)


def open_sink(declared: dict[str, Any], override: str | None = None):
    """The sink of a bundle's ``prediction_log`` declaration; ``override`` (from the serving machine)
    replaces its PostgreSQL URL (with credentials) or its parquet directory."""
    kind, where, table = resolve(declared)
    where = override or where
    return ParquetSink(Path(where)) if kind == "parquet" else PostgresSink(where, table)


class ParquetSink:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.token = uuid.uuid4().hex[:8]
        self.count = 0

    def write(self, columns: dict[str, list], schema: pa.Schema) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({name: pa.array(columns[name], type=schema.field(name).type) for name in schema.names}, schema=schema)
        days: dict[str, list[int]] = {}
        for index, moment in enumerate(columns["time"]):
            days.setdefault(moment.astimezone(UTC).date().isoformat(), []).append(index)
        for day, indices in days.items():
            folder = self.folder / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            self.count += 1
            name = f"part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}-{self.token}-{self.count:06d}.parquet"
            temporary = folder / f".{name}.tmp"
            part = table if len(indices) == table.num_rows else table.take(pa.array(indices))
            pq.write_table(part, temporary, compression="zstd")
            os.replace(temporary, folder / name)

    def close(self) -> None:
        pass


class PostgresSink:
    def __init__(self, url: str, table: str):
        self.url, self.table = url, table
        self._connection = None
        self._columns: set[str] = set()  # the table's columns this connection has ensured

    def write(self, columns: dict[str, list], schema: pa.Schema) -> None:
        from psycopg import sql

        connection = self._connect()
        try:
            if not set(schema.names) <= self._columns:
                self._ensure_table(connection, schema)
            names = sql.SQL(", ").join(sql.Identifier(name) for name in schema.names)
            with connection.cursor() as cursor, cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table_identifier(self.table), names)) as copy:
                for row in zip(*(columns[name] for name in schema.names)):
                    copy.write_row(row)
            connection.commit()
        except Exception:
            self.close()  # reconnected for the next batch
            raise

    def _connect(self):
        import psycopg

        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self.url, connect_timeout=10)
            self._columns = set()
        return self._connection

    def _ensure_table(self, connection, schema: pa.Schema) -> None:
        """The table with every column of ``schema`` (created or extended, under an advisory lock so
        several workers starting together do not race), indexed by time and request id."""
        from psycopg import sql

        table, bare = table_identifier(self.table), self.table.rsplit(".", 1)[-1]
        typed = [sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(SQL_TYPES[str(f.type)])) for f in schema]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"hydraops-prediction-log:{self.table}"])
            if "." in self.table:
                cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.table.split(".", 1)[0])))
            cursor.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(table, sql.SQL(", ").join(typed)))
            cursor.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                           [table.as_string(connection)])  # fmt: skip
            present = {name for (name,) in cursor.fetchall()}
            for f, column in zip(schema, typed):
                if f.name not in present:
                    cursor.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {}").format(table, column))
            for column in ("time", "request_id"):
                cursor.execute(
                    sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(sql.Identifier(f"{bare}_{column}_idx"), table, sql.Identifier(column))
                )
        connection.commit()
        self._columns = set(schema.names)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # closing a broken connection
                logger.debug("closing the prediction log's connection failed", exc_info=True)
            self._connection = None
