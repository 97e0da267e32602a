"""The prediction log as monitoring and lineage read it: one row per served row, in parquet files or a
PostgreSQL table (``stack.prediction_log``), written by the service's background writer
(``hydraops.serving.log_writer``).

    read_log(location, start=None, end=None) -> pandas.DataFrame     # rows logged in [start, end), by time
    read_request(location, request_id) -> pandas.DataFrame           # lineage: one request's rows
    log_schema(serving_spec) -> pyarrow.Schema                       # the columns a bundle writes

``location`` is a parquet directory (a path), a ``postgresql://`` URL (with ``table``), or the declaration
itself (``stack.prediction_log``, or the ``prediction_log`` of a bundle's ``serving.json``). Columns:

    request_id, row (its position in the request), time (UTC), model_name, model_version,
    key.<entity key> (as text), feature.<input> (the value the model took; null when none), status.<input>
    (given/present/missing/expired), prediction, explanation (JSON, null without one),
    shadow_model_version, shadow_prediction, shadow_error (null without a shadow, or when it scored)

Parquet files sit in ``date=YYYY-MM-DD`` folders (the rows' UTC date), one file per batch and worker process.
Bundles of other versions may have other inputs: their files are read together, a column one lacks is null.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydraops.errors import ServingError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from hydraops.serving.spec import ServingSpec

DEFAULT_TABLE = "prediction_log"
FEATURE, STATUS, KEY = "feature.", "status.", "key."
#: PostgreSQL column types of the log's Arrow types (by Arrow type name).
SQL_TYPES = {"string": "text", "int32": "integer", "int64": "bigint", "double": "double precision", "bool": "boolean",
             "timestamp[us, tz=UTC]": "timestamptz"}  # fmt: skip


def log_schema(spec: ServingSpec) -> pa.Schema:
    """The columns a bundle writes: fixed ones, then its entity keys, inputs and their statuses, typed from
    the declared dtypes (a categorical input is text, an undeclared one float64), the same in every file."""
    import pyarrow as pa

    text, time = pa.string(), pa.timestamp("us", tz="UTC")
    types = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": text, "category": text, "timestamp": time}
    keys = list(dict.fromkeys(key for view in spec.views for key in view.join_keys))
    fields = [("request_id", text), ("row", pa.int32()), ("time", time), ("model_name", text), ("model_version", text)]
    fields += [(KEY + key, text) for key in keys]
    for f in spec.features:
        fields.append((FEATURE + f.name, text if f.name in spec.categories else types.get(f.dtype or "", pa.float64())))
    fields += [(STATUS + f.name, text) for f in spec.features]
    fields += [("prediction", pa.float64()), ("explanation", text), ("shadow_model_version", text), ("shadow_prediction", pa.float64()),
               ("shadow_error", text)]  # fmt: skip
    return pa.schema(fields)


def read_log(location: Any, start: datetime | None = None, end: datetime | None = None, *, table: str | None = None,
             columns: Sequence[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The rows logged at ``start <= time < end`` (either open), ordered by time, request id and row; only
    ``columns`` (and those it is ordered by) when given."""
    return read_log_table(location, start, end, table=table, columns=columns).to_pandas()


def read_request(location: Any, request_id: str, *, table: str | None = None) -> pd.DataFrame:
    """The rows of one request (its ``x-request-id``): which model version answered, with which inputs."""
    return read_log_table(location, table=table, request_id=request_id).to_pandas()


def read_log_table(location: Any, start: datetime | None = None, end: datetime | None = None, *, table: str | None = None,
                   request_id: str | None = None, columns: Sequence[str] | None = None) -> pa.Table:  # fmt: skip
    """:func:`read_log` as an Arrow table (the logged types kept: integers with nulls stay integers)."""
    kind, where, table_name = resolve(location, table)
    start, end = _utc(start), _utc(end)
    wanted = None if columns is None else list(dict.fromkeys([*columns, "time", "request_id", "row"]))
    if kind == "parquet":
        return _read_parquet(Path(where), start, end, request_id, wanted)
    return _read_postgresql(where, table_name, start, end, request_id, wanted)


def resolve(location: Any, table: str | None = None) -> tuple[str, str, str]:
    """``(kind, path or URL, table)`` of a location: a path, a URL, or a declaration (a mapping or an object
    with ``type``, ``path``, ``url``, ``table``)."""
    if isinstance(location, (str, os.PathLike)):
        text = os.fspath(location)
        kind = "postgresql" if text.startswith(("postgresql://", "postgres://")) else "parquet"
        return kind, text, table or DEFAULT_TABLE
    get = location.get if isinstance(location, Mapping) else lambda key: getattr(location, key, None)
    kind = str(getattr(get("type"), "value", get("type")))
    if kind not in ("parquet", "postgresql"):
        raise ServingError(f"prediction log type {kind!r}: expected parquet or postgresql (stack.prediction_log.type)")
    where = get("path") if kind == "parquet" else get("url")
    return kind, str(where), table or get("table") or DEFAULT_TABLE


def log_files(folder: Path, start: datetime | None = None, end: datetime | None = None) -> list[Path]:
    """The parquet files of a log directory that may hold rows of ``[start, end)`` (by their date folder), in date order."""
    if not folder.is_dir():
        raise ServingError(f"no prediction log at {folder} (stack.prediction_log.path): nothing was logged there yet")
    first, last = (start.date().isoformat() if start else None), (end.date().isoformat() if end else None)
    files = []
    for part in sorted(folder.glob("date=*")):
        day = part.name.partition("=")[2]
        if (first and day < first) or (last and day > last):
            continue
        files += [path for path in sorted(part.glob("*.parquet")) if not path.name.startswith(".")]
    return files


def _read_parquet(folder: Path, start: datetime | None, end: datetime | None, request_id: str | None, columns: list[str] | None = None) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = log_files(folder, start, end)
    if not files:
        return pa.table({})

    def read(path: Path) -> pa.Table:
        source = pq.ParquetFile(path)
        return source.read(None if columns is None else [c for c in columns if c in source.schema_arrow.names])

    logged = pa.concat_tables([read(path) for path in files], promote_options="permissive")  # files of other writers: string or large_string
    kind = logged.schema.field("time").type
    if start is not None:
        logged = logged.filter(pc.greater_equal(logged["time"], pa.scalar(start, kind)))
    if end is not None:
        logged = logged.filter(pc.less(logged["time"], pa.scalar(end, kind)))
    if request_id is not None:
        logged = logged.filter(pc.equal(logged["request_id"], request_id))
    return logged.sort_by([("time", "ascending"), ("request_id", "ascending"), ("row", "ascending")])


def _read_postgresql(url: str, table: str, start: datetime | None, end: datetime | None, request_id: str | None,
                     columns: list[str] | None = None) -> pa.Table:  # fmt: skip
    import psycopg
    from psycopg import sql

    conditions, params = [], []
    for column, op, value in (("time", ">=", start), ("time", "<", end), ("request_id", "=", request_id)):
        if value is not None:
            conditions.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(op)))
            params.append(value)
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    selected = sql.SQL("*") if columns is None else sql.SQL(", ").join(map(sql.Identifier, columns))
    query = sql.SQL('SELECT {} FROM {}{} ORDER BY "time", request_id, "row"').format(selected, table_identifier(table), where)
    try:
        with psycopg.connect(url, connect_timeout=10) as connection, connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
            description = cursor.description
    except psycopg.errors.UndefinedTable:
        raise ServingError(f"no prediction log table {table} at {_public(url)} (stack.prediction_log.table): nothing was logged there yet") from None
    except psycopg.Error as error:
        raise ServingError(f"the prediction log at {_public(url)} cannot be read: {str(error).strip()}") from None
    return rows_table(rows, description)


def rows_table(rows: list[tuple], description) -> pa.Table:
    """PostgreSQL rows (and their cursor's ``description``) as an Arrow table of the log's types."""
    import pyarrow as pa

    arrow = {16: pa.bool_(), 20: pa.int64(), 23: pa.int32(), 25: pa.string(), 701: pa.float64(), 1184: pa.timestamp("us", tz="UTC")}
    return pa.table({d.name: pa.array([row[i] for row in rows], type=arrow.get(d.type_code)) for i, d in enumerate(description)})


def table_identifier(table: str):
    """``schema.table`` or ``table`` as a quoted SQL identifier."""
    from psycopg import sql

    return sql.Identifier(*table.split(".", 1))


def _utc(moment: datetime | None) -> datetime | None:
    """A naive time is taken as UTC."""
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _public(url: str) -> str:
    from hydraops.config.secrets import redact_url

    return redact_url(url)


__all__ = ["DEFAULT_TABLE", "log_files", "log_schema", "read_log", "read_log_table", "read_request", "resolve", "rows_table"]
