"""An online store in this process's memory, for tests and dry runs (``stack/online_store=memory``), and its config."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from hydraops.config.schemas.data import OnlineStoreSpec, OnlineStoreType
from hydraops.features.online.base import (
    FeatureStoreError,
    OnlineRow,
    OnlineStore,
    Pushed,
    decode_key,
    decode_row,
    encode_key,
    encode_row,
    from_micros,
    to_micros,
)


@dataclass(frozen=True)
class _View:
    rows: dict[str, str]  # encoded key → encoded row; never changed once stored
    pushed: Pushed


class InMemoryOnlineStore(OnlineStore):
    """Rows kept encoded as the other stores keep them (so values come back alike: NaN as None, instants in
    UTC), in one dict per view. A write builds the view's new dict, then swaps it in with its record:
    readers see one write or the next, never a mix, and a write that fails leaves the old rows.

    ``store.connect()`` is a second handle on the same data (as a second connection would be); data lives
    as long as a handle on it does, and nothing is shared between stores built separately.
    """

    def __init__(self) -> None:
        self._views: dict[str, _View] = {}
        self._lock = threading.Lock()
        self._closed = False

    def connect(self) -> Self:
        """Another handle on this store's data, closed independently."""
        other = type(self).__new__(type(self))
        other._views, other._lock, other._closed = self._views, self._lock, False
        return other

    def write(self, view: str, rows: Iterable[OnlineRow], *, as_of: datetime, version: str | None = None) -> int:
        pushed = Pushed(version, from_micros(to_micros(as_of)))
        self._check_open()
        encoded, count = {}, 0
        for row in rows:
            encoded[encode_key(row.key)] = encode_row(row)
            count += 1
        with self._lock:
            self._views[view] = _View(encoded, pushed)
        return count

    def read(self, view: str, keys: Sequence[tuple]) -> list[OnlineRow | None]:
        encoded = [encode_key(key) for key in keys]
        rows = self._view(view).rows
        return [decode_row(key, rows[text]) if text in rows else None for key, text in zip(keys, encoded)]

    def pushed(self, view: str) -> Pushed | None:
        found = self._view(view)
        return found.pushed if found is not _NEVER else None

    def keys(self, view: str, limit: int) -> list[tuple]:
        return [decode_key(text) for text in sorted(self._view(view).rows)[: max(limit, 0)]]

    def close(self) -> None:
        self._closed = True

    def __repr__(self) -> str:
        return f"InMemoryOnlineStore(views={sorted(self._views)})"

    def _view(self, view: str) -> _View:
        self._check_open()
        with self._lock:
            return self._views.get(view, _NEVER)

    def _check_open(self) -> None:
        if self._closed:
            raise FeatureStoreError("the in-memory online store is closed")


_NEVER = _View({}, Pushed(None, from_micros(0)))


@dataclass
class MemoryOnlineStoreSpec(OnlineStoreSpec):
    """An in-memory store (``stack/online_store=memory``): empty whenever it is opened, gone when closed;
    for tests and dry runs of ``features materialize``."""

    type: OnlineStoreType = OnlineStoreType.memory

    def open(self, namespace: str) -> InMemoryOnlineStore:
        return InMemoryOnlineStore()

    def open_read_only(self, namespace: str) -> None:
        """Nothing to read: a store opened later starts empty."""
        return None

    def location(self) -> str:
        return "in memory"
