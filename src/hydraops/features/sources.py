"""Sources as DuckDB views, checked against their declarations before any feature is computed."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hydraops.config.schemas import Dtype
from hydraops.errors import DataError
from hydraops.features.repo import FeatureRepo, file_sources, mentions

#: DuckDB column types each declared dtype accepts.
ACCEPTED_TYPES: dict[Dtype, tuple[str, ...]] = {
    Dtype.int64: ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "HUGEINT"),
    Dtype.float64: ("DOUBLE", "FLOAT", "DECIMAL"),
    Dtype.string: ("VARCHAR",),
    Dtype.category: ("VARCHAR", "ENUM"),
    Dtype.bool: ("BOOLEAN",),
    Dtype.timestamp: ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE"),
}


@dataclass(frozen=True)
class SourceInfo:
    """What a source holds: its column types, and whether its event timestamps are timezone-aware."""

    name: str
    columns: dict[str, str]
    tz_aware: bool


#: Connections known to be confined (:func:`confine`, :class:`Database`): no need to ask DuckDB.
_CONFINED: weakref.WeakSet = weakref.WeakSet()
_SESSION = "SET enable_progress_bar = true; SET enable_progress_bar_print = false"


def connect(memory_limit: str | None = None):  # -> duckdb.DuckDBPyConnection
    """An in-memory DuckDB connection in UTC (its cursors too), holding at most ``memory_limit`` before it
    spills to disk (None: DuckDB's default); it tracks the progress of long statements but prints none
    (:mod:`hydraops.features.progress` reports it)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET GLOBAL TimeZone = 'UTC'; {_SESSION}")
    if memory_limit is not None:
        try:
            con.execute(f"SET memory_limit = {literal(memory_limit)}")
        except duckdb.Error as error:
            raise DataError(
                f"stack.duckdb_memory_limit: '{memory_limit}' is not a size DuckDB takes (e.g. 1GB, 512MB): {_first_line(error)}",
                key="stack.duckdb_memory_limit",
            ) from error
    return con


def confine(con, repo: FeatureRepo, sources: Iterable[str] = (), writable: Iterable[str] = ()) -> None:
    """Let ``con`` touch only the files of ``sources`` (query sources followed to theirs), the offline store
    and the ``writable`` files, for good: DuckDB's external access is switched off and its configuration
    locked, so no SQL run later (a feature expression, a query source) can read or write anything else."""
    files = sorted({os.path.abspath(f) for name in sources for s in file_sources(repo.data, name) for f in repo.source_files(s)})
    paths = [*files, *(os.path.abspath(path) for path in writable)]
    directories = [os.path.join(os.path.abspath(repo.offline_dir), "")]
    con.execute(f"SET allowed_directories = [{', '.join(map(literal, directories))}]")
    con.execute(f"SET allowed_paths = [{', '.join(map(literal, paths))}]")
    con.execute("SET enable_external_access = false; SET lock_configuration = true")
    _CONFINED.add(con)


def confined(con) -> bool:
    return con in _CONFINED or con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]


class Database:
    """One in-memory DuckDB database for a repo's feature work (opening one costs ~0.03 s, closing ~0.01 s):
    confined once to the files of every source that has some and to the offline store, so materializing and
    building a training table share it. Each piece of work takes a connection of its own (a cursor: its own
    temporary views and tables) and gives it back; ``SPARE`` of them are made before the configuration is
    locked, so they track progress too (one made later runs the same, UTC, but reports no progress)."""

    SPARE = 8

    def __init__(self, repo: FeatureRepo) -> None:
        readable = [name for name, spec in repo.data.sources.items() if spec.query is None and _has_files(repo, name)]
        self.files = frozenset(os.path.abspath(f) for name in readable for f in repo.source_files(name))
        self.key = (os.path.abspath(repo.offline_dir), repo.memory_limit)
        self._con = connect(repo.memory_limit)
        self._free = [self._con.cursor() for _ in range(self.SPARE)]
        for cursor in self._free:
            cursor.execute(_SESSION)
        confine(self._con, repo, readable)
        _CONFINED.update(self._free)
        self._lock = threading.Lock()

    def covers(self, repo: FeatureRepo, sources: Iterable[str]) -> bool:
        """Whether the database may read every file ``sources`` read now (query sources followed)."""
        needed = {os.path.abspath(f) for name in sources for s in file_sources(repo.data, name) for f in repo.source_files(s)}
        return self.key == (os.path.abspath(repo.offline_dir), repo.memory_limit) and needed <= self.files

    @contextmanager
    def connection(self) -> Iterator:
        """A confined connection to the database for the block's work, given back after it."""
        with self._lock:
            con = self._free.pop() if self._free else None
        if con is None:
            con = self._con.cursor()
            _CONFINED.add(con)
        try:
            yield con
        finally:
            with self._lock:
                self._free.append(con)


_OPENING = threading.Lock()


def database(repo: FeatureRepo, sources: Iterable[str]) -> Database:
    """The repo's shared :class:`Database`, opened again when it may not read every file of ``sources`` (their
    files or the declarations changed); a DataError naming a source that has no file."""
    sources = list(sources)
    with _OPENING:
        db = repo.shared.get("database")
        if db is None or not db.covers(repo, sources):
            db = repo.shared["database"] = Database(repo)
        return db


@contextmanager
def opening(repo: FeatureRepo) -> Iterator[None]:
    """The repo's shared database opened on a thread while the block runs (connecting takes 0.01–0.03 s, mostly
    outside the GIL), so planning and opening overlap. An error opening it is left to the first work that
    needs the database: it opens it again and raises."""

    def open_quietly() -> None:
        try:
            database(repo, ())
        except Exception:  # noqa: BLE001 - raised again, where it is needed
            pass

    thread = threading.Thread(target=open_quietly, name="hydraops-open-database", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def _has_files(repo: FeatureRepo, name: str) -> bool:
    try:
        return bool(repo.source_files(name))
    except DataError:
        return False


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def accepts(dtype: Dtype, duckdb_type: str) -> bool:
    return any(duckdb_type == t or duckdb_type.startswith(t + "(") for t in ACCEPTED_TYPES[dtype])


def register_source(con, repo: FeatureRepo, name: str, writable: Iterable[str] = ()) -> SourceInfo:
    """Create the temp view ``name`` (its rows plus ``__seq``, the source order) and check it.

    A connection not yet confined is confined first to the source's files, the offline store and ``writable``.
    """
    if not confined(con):
        confine(con, repo, [name], writable)
    spec = repo.data.sources[name]
    if spec.query is not None:
        for other in repo.data.sources:
            if other != name and mentions(spec.query, other):
                register_source(con, repo, other)
    columns = create_source_view(con, repo, name)
    for problem in column_problems(name, spec, columns):
        raise problem
    tz_aware = spec.timestamp is not None and columns[spec.timestamp] == "TIMESTAMP WITH TIME ZONE"
    return SourceInfo(name, columns, tz_aware)


def create_source_view(con, repo: FeatureRepo, name: str) -> dict[str, str]:
    """Create the temp view ``name`` over its files or its query (the sources it names registered already) and
    return its column types. Binding the view reads the parquet footers (a CSV's first rows): no row is read.
    A DataError naming the source when it cannot be read."""
    import duckdb

    spec = repo.data.sources[name]
    if spec.query is not None:
        body = f"SELECT *, row_number() OVER () AS __seq FROM ({spec.query})"
    else:
        files = repo.source_files(name)
        listed = "[" + ", ".join(literal(f) for f in files) + "]"
        if repo.data.format.value == "parquet":
            body = (
                f"SELECT * EXCLUDE (filename, file_row_number), "
                f"(list_position({listed}, filename)::BIGINT << 40) + file_row_number AS __seq "
                f"FROM read_parquet({listed}, filename = true, file_row_number = true)"
            )
        else:
            body = f"SELECT *, row_number() OVER () AS __seq FROM read_csv({listed}, header = true, union_by_name = true)"
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS {body}")
        described = con.execute(f"DESCRIBE SELECT * FROM {quote(name)}").fetchall()
    except duckdb.Error as error:
        raise DataError(f"source '{name}' cannot be read: {_first_line(error)}", key=f"data.sources.{name}") from error
    columns = {row[0]: row[1] for row in described if row[0] != "__seq"}
    return columns if spec.timezone is None else _localize(con, name, spec, columns, body)


def column_problems(name: str, spec, columns: dict[str, str]) -> Iterator[DataError]:
    """Each way the source's columns differ from its declaration (timestamps, declared columns and dtypes), as a
    DataError naming the key and the column (yielded, not raised: the caller raises the first or lists them all)."""
    available = ", ".join(columns)
    for field in ("timestamp", "created_timestamp"):
        column = getattr(spec, field)
        if column is None:
            continue
        if column not in columns:
            yield DataError(
                f"source '{name}': {field} column '{column}' (data.sources.{name}.{field}) is not in the data; available: {available}",
                key=f"data.sources.{name}.{field}",
                column=column,
            )
        elif not accepts(Dtype.timestamp, columns[column]):
            yield DataError(
                f"source '{name}': {field} column '{column}' is {columns[column]}, expected a timestamp",
                key=f"data.sources.{name}.{field}",
                column=column,
            )
    for column, declared in spec.columns.items():
        if column not in columns:
            yield DataError(
                f"source '{name}': declared column '{column}' (data.sources.{name}.columns) is not in the data; available: {available}",
                key=f"data.sources.{name}.columns.{column}",
                column=column,
            )
        elif not accepts(declared.dtype, columns[column]):
            yield DataError(
                f"source '{name}': column '{column}' is {columns[column]} in the data, "
                f"declared {declared.dtype.value} (data.sources.{name}.columns.{column}.dtype)",
                key=f"data.sources.{name}.columns.{column}.dtype",
                column=column,
            )


def _localize(con, name: str, spec, columns: dict[str, str], body: str) -> dict[str, str]:
    """Redefine the view ``name`` (rows of ``body``) with its naive timestamp columns read as instants in
    its declared ``timezone``; returns the new column types. An aware column with a zone declared is an error.
    Nothing is read but the first row (a bad zone name fails there)."""
    import duckdb

    localized = {}
    for field in ("timestamp", "created_timestamp"):
        column = getattr(spec, field)
        if column not in columns:
            continue  # none declared, or not in the data: column_problems says so
        if columns[column] == "TIMESTAMP WITH TIME ZONE":
            raise DataError(
                f"source '{name}': {field} column '{column}' is already timezone-aware; data.sources.{name}.timezone "
                f"('{spec.timezone}') is for naive columns only",
                key=f"data.sources.{name}.timezone",
                column=column,
            )
        localized[column] = f"timezone({literal(spec.timezone)}, {quote(column)}::TIMESTAMP) AS {quote(column)}"
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT * REPLACE ({', '.join(localized.values())}) FROM ({body})")
        con.execute(f"SELECT * FROM {quote(name)} LIMIT 1").fetchall()
    except duckdb.Error as error:
        raise DataError(
            f"source '{name}': time zone '{spec.timezone}' (data.sources.{name}.timezone) cannot be applied: {_first_line(error)}",
            key=f"data.sources.{name}.timezone",
        ) from error
    return {**columns, **dict.fromkeys(localized, "TIMESTAMP WITH TIME ZONE")}


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0]
