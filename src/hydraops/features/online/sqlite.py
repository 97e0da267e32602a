"""The embedded online store: one SQLite file (``stack=local``), and its config."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from pathlib import Path

from omegaconf import MISSING

from hydraops.config.schemas.data import OnlineStoreSpec, OnlineStoreType
from hydraops.features.online.base import (
    FeatureStoreError,
    OnlineRow,
    OnlineStore,
    Pushed,
    chunks,
    decode_key,
    decode_row,
    encode_key,
    encode_row,
    from_micros,
    to_micros,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_rows (
    view TEXT NOT NULL, key TEXT NOT NULL, row TEXT NOT NULL, PRIMARY KEY (view, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS online_views (
    view TEXT PRIMARY KEY, as_of INTEGER NOT NULL, version TEXT
) WITHOUT ROWID;
"""
_INSERT = "INSERT OR REPLACE INTO online_rows (view, key, row) VALUES (?, ?, ?)"
_RECORD = "INSERT OR REPLACE INTO online_views (view, as_of, version) VALUES (?, ?, ?)"
_READ_ONE = "SELECT row FROM online_rows WHERE view = ? AND key = ?"
_READ_MANY = "SELECT key, row FROM online_rows WHERE view = ? AND key IN ({})"


class SqliteOnlineStore(OnlineStore):
    """Rows in one table keyed by (view, encoded key), each the shared JSON encoding of an OnlineRow;
    per view, the instant and offline version they were computed from.

    WAL mode, so a materialization can write while a server reads: a write deletes the view's rows and
    inserts the new ones in one transaction, which readers on other connections see whole or not at all.
    One connection, shared by threads under a lock; statements are prepared once and reused through
    sqlite3's statement cache. ``read_only`` opens an existing file without writing to it (``plan``).
    """

    def __init__(self, path: str | PathLike[str], *, read_only: bool = False) -> None:
        self.path = str(path)
        if read_only:
            self._conn = sqlite3.connect(f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        else:
            self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            columns = {column[1] for column in self._conn.execute("PRAGMA table_info(online_views)")}
            if "version" not in columns:  # a store written before versions were recorded
                self._conn.execute("ALTER TABLE online_views ADD COLUMN version TEXT")
        self._lock = threading.Lock()
        self._max_keys = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 1  # one is the view

    def write(self, view: str, rows: Iterable[OnlineRow], *, as_of: datetime, version: str | None = None) -> int:
        as_of_micros = to_micros(as_of)
        encoded = ((view, encode_key(row.key), encode_row(row)) for row in rows)
        with self._lock, self._conn:  # one transaction: the old rows go, the new ones and the record land
            self._conn.execute("DELETE FROM online_rows WHERE view = ?", (view,))
            count = self._conn.executemany(_INSERT, encoded).rowcount
            self._conn.execute(_RECORD, (view, as_of_micros, version))
        return count

    def read(self, view: str, keys: Sequence[tuple]) -> list[OnlineRow | None]:
        encoded = [encode_key(key) for key in keys]
        if len(encoded) == 1:
            with self._lock:
                found = self._conn.execute(_READ_ONE, (view, encoded[0])).fetchone()
            return [decode_row(keys[0], found[0]) if found else None]
        stored: dict[str, str] = {}
        with self._lock:
            for chunk in chunks(dict.fromkeys(encoded), self._max_keys):
                stored.update(self._conn.execute(_READ_MANY.format(",".join("?" * len(chunk))), (view, *chunk)))
        return [decode_row(key, stored[text]) if text in stored else None for key, text in zip(keys, encoded)]

    def pushed(self, view: str) -> Pushed | None:
        try:
            with self._lock:
                found = self._conn.execute("SELECT as_of, version FROM online_views WHERE view = ?", (view,)).fetchone()
        except sqlite3.OperationalError:  # read-only, on a file no write has set up yet
            return None
        return Pushed(found[1], from_micros(found[0])) if found else None

    def keys(self, view: str, limit: int) -> list[tuple]:
        with self._lock:
            found = self._conn.execute("SELECT key FROM online_rows WHERE view = ? ORDER BY key LIMIT ?", (view, limit)).fetchall()
        return [decode_key(text) for (text,) in found]

    def close(self) -> None:
        self._conn.close()

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({self.path!r})"


@dataclass
class SqliteOnlineStoreSpec(OnlineStoreSpec):
    """The embedded store (``stack/online_store=sqlite``): one SQLite file, shared by every project namespace."""

    type: OnlineStoreType = OnlineStoreType.sqlite
    path: str = field(default=MISSING, metadata={"expected": "the path of the SQLite file that holds the latest values"})

    def open(self, namespace: str) -> SqliteOnlineStore:
        """The store at ``path`` (views are per project already: ``namespace`` is not needed)."""
        Path(self._path()).parent.mkdir(parents=True, exist_ok=True)
        return SqliteOnlineStore(self._path())

    def open_read_only(self, namespace: str) -> SqliteOnlineStore | None:
        """The store at ``path`` opened without writing; None when the file does not exist yet."""
        return SqliteOnlineStore(self._path(), read_only=True) if Path(self._path()).is_file() else None

    def location(self) -> str:
        return self.path

    def _path(self) -> str:
        if not self.path or self.path == MISSING:
            raise FeatureStoreError("stack.online_store.path is required when stack.online_store.type is sqlite")
        return self.path
