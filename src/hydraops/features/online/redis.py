"""The shared online store: Redis (``stack=shared``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

from hydraops.features.online.base import (
    FeatureStoreError,
    OnlineRow,
    OnlineStore,
    chunks,
    decode_key,
    decode_row,
    encode_key,
    encode_row,
    from_micros,
    to_micros,
)

_WRITE_CHUNK = 10_000


class RedisOnlineStore(OnlineStore):
    """One Redis string per (view, entity): ``{key_prefix}:{view}:{encoded key}`` → the encoded row.

    Strings rather than hashes: a read always wants the whole row, so a batch of any size is one MGET
    (one round trip) and one JSON decode per row, where hashes would need a pipeline of HGETALLs and a
    decode per field. ``as_of`` lives under ``{key_prefix}:{view}:as_of`` (encoded keys start with ``[``,
    so it never collides with a row). Writes go in MSETs of 10,000 rows, ``as_of`` last, so it never runs
    ahead of the rows; a write that fails midway leaves earlier chunks in place. TTL is enforced by the
    reader against its clock, not by Redis expiry.
    """

    def __init__(self, url: str, key_prefix: str = "hydraops", *, timeout: float = 5.0) -> None:
        import redis

        self.url = url
        self.key_prefix = key_prefix
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        try:
            self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        except ValueError as error:
            raise FeatureStoreError(f"invalid Redis URL {_redacted(url)}: {error}") from error
        try:
            self._client.ping()
        except self._errors as error:
            self._unreachable(error)
        except redis.exceptions.ResponseError as error:  # e.g. a DB index the server does not have
            raise FeatureStoreError(f"Redis at {_redacted(url)} (stack.online_store.url) refused the connection: {error}") from error

    def write(self, view: str, rows: Iterable[OnlineRow], *, as_of: datetime) -> int:
        as_of_micros = to_micros(as_of)
        prefix, count = self._prefix(view), 0
        try:
            for chunk in chunks(rows, _WRITE_CHUNK):
                self._client.mset({prefix + encode_key(row.key): encode_row(row) for row in chunk})
                count += len(chunk)
            self._client.set(prefix + "as_of", as_of_micros)
        except self._errors as error:
            self._unreachable(error)
        return count

    def read(self, view: str, keys: Sequence[tuple]) -> list[OnlineRow | None]:
        if not keys:
            return []
        prefix = self._prefix(view)
        names = [prefix + encode_key(key) for key in keys]
        try:
            found = self._client.mget(names)
        except self._errors as error:
            self._unreachable(error)
        return [decode_row(key, data) if data is not None else None for key, data in zip(keys, found)]

    def as_of(self, view: str) -> datetime | None:
        try:
            found = self._client.get(self._prefix(view) + "as_of")
        except self._errors as error:
            self._unreachable(error)
        return from_micros(int(found)) if found is not None else None

    def keys(self, view: str, limit: int) -> list[tuple]:
        """SCAN until ``limit`` keys are found, then sort them by encoding: deterministic for a given keyspace."""
        if limit <= 0:
            return []
        prefix = self._prefix(view).encode()
        found: list[bytes] = []
        try:
            for name in self._client.scan_iter(match=_glob_escape(prefix) + rb"\[*", count=max(limit, 1000)):
                found.append(name[len(prefix) :])
                if len(found) >= limit:
                    break
        except self._errors as error:
            self._unreachable(error)
        return [decode_key(text) for text in sorted(found)]

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisOnlineStore({_redacted(self.url)!r}, {self.key_prefix!r})"

    def _prefix(self, view: str) -> str:
        return f"{self.key_prefix}:{view}:"

    def _unreachable(self, error: Exception) -> NoReturn:
        raise FeatureStoreError(
            f"cannot reach the Redis online store at {_redacted(self.url)} ({error}); "
            "start one with `redis-server`, or use the embedded SQLite store with `stack=local`"
        ) from error


def _glob_escape(text: bytes) -> bytes:
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", text)


def _redacted(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
