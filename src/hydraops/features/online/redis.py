"""The shared online store: Redis (``stack=shared``), and its config."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

from omegaconf import MISSING

from hydraops.config.schemas.data import OnlineStoreSpec, OnlineStoreType
from hydraops.config.secrets import redact_url
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

_WRITE_CHUNK = 10_000
_STAGING_TTL_S = 3600  # a staging hash left by a writer that died expires by itself


class RedisOnlineStore(OnlineStore):
    """Per view, one Redis hash of its rows and one string saying what they were computed from:

        {key_prefix}:{view}:rows     field: the encoded key → the encoded row
        {key_prefix}:{view}:pushed   JSON {"as_of": µs since the epoch, "version": offline version or null}

    A write replaces a view's rows as a whole: it fills a staging hash ``{key_prefix}:{view}:staging:{random}``
    in HSETs of 10,000 rows, each renewing a one-hour expiry (a writer that dies leaves nothing behind for
    long), then swaps it in with one MULTI/EXEC: UNLINK rows (freed in the background), RENAME staging →
    rows, PERSIST, SET pushed. Readers see the old rows or the new ones, never a mix. A read of any batch is
    one HMGET: one round trip, one JSON decode per row. TTL is enforced by the reader against its clock,
    not by Redis expiry. Views written by an older hydraops (one string per row, ``:as_of``) read as
    empty until their next write, which deletes the old keys.
    """

    def __init__(self, url: str, key_prefix: str = "hydraops", *, timeout: float = 5.0) -> None:
        import redis

        self.url = url
        self.key_prefix = key_prefix
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        try:
            self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        except ValueError as error:
            raise FeatureStoreError(f"invalid Redis URL {redact_url(url)}: {error}") from error
        try:
            self._client.ping()
        except self._errors as error:
            self._unreachable(error)
        except redis.exceptions.ResponseError as error:  # e.g. a DB index the server does not have
            raise FeatureStoreError(f"Redis at {redact_url(url)} (stack.online_store.url) refused the connection: {error}") from error

    def write(self, view: str, rows: Iterable[OnlineRow], *, as_of: datetime, version: str | None = None) -> int:
        record = json.dumps({"as_of": to_micros(as_of), "version": version})
        base, count = self._prefix(view), 0
        staging = f"{base}staging:{uuid.uuid4().hex}"
        try:
            for chunk in chunks(rows, _WRITE_CHUNK):
                fill = self._client.pipeline(transaction=False)
                fill.hset(staging, mapping={encode_key(row.key): encode_row(row) for row in chunk})
                fill.expire(staging, _STAGING_TTL_S)
                fill.execute()
                count += len(chunk)
            swap = self._client.pipeline(transaction=True)  # MULTI/EXEC: no command of another client in between
            swap.unlink(base + "rows")
            if count:
                swap.rename(staging, base + "rows")
                swap.persist(base + "rows")
            swap.set(base + "pushed", record)
            swap.execute()
            self._drop_legacy_keys(base)
        except self._errors as error:
            self._unreachable(error)
        except BaseException:
            self._client.unlink(staging)
            raise
        return count

    def read(self, view: str, keys: Sequence[tuple]) -> list[OnlineRow | None]:
        if not keys:
            return []
        try:
            found = self._client.hmget(self._prefix(view) + "rows", [encode_key(key) for key in keys])
        except self._errors as error:
            self._unreachable(error)
        return [decode_row(key, data) if data is not None else None for key, data in zip(keys, found)]

    def pushed(self, view: str) -> Pushed | None:
        base = self._prefix(view)
        try:
            record, legacy_as_of = self._client.mget([base + "pushed", base + "as_of"])
        except self._errors as error:
            self._unreachable(error)
        if record is not None:
            document = json.loads(record)
            return Pushed(document["version"], from_micros(document["as_of"]))
        return Pushed(None, from_micros(int(legacy_as_of))) if legacy_as_of is not None else None

    def keys(self, view: str, limit: int) -> list[tuple]:
        """HSCAN until ``limit`` keys are found, then sort them by encoding: deterministic for given rows."""
        if limit <= 0:
            return []
        found: list[bytes] = []
        try:
            for name, _ in self._client.hscan_iter(self._prefix(view) + "rows", count=max(limit, 1000)):
                found.append(name)
                if len(found) >= limit:
                    break
        except self._errors as error:
            self._unreachable(error)
        return [decode_key(text) for text in sorted(found)]

    def _drop_legacy_keys(self, base: str) -> None:
        """Delete a view's rows in the layout of older versions (one string per row), if any are left."""
        if not self._client.exists(base + "as_of"):
            return
        names = [base.encode() + b"as_of"]
        names += self._client.scan_iter(match=_glob_escape(base.encode()) + rb"\[*", count=10_000)
        for chunk in chunks(names, 10_000):
            self._client.unlink(*chunk)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisOnlineStore({redact_url(self.url)!r}, {self.key_prefix!r})"

    def _prefix(self, view: str) -> str:
        return f"{self.key_prefix}:{view}:"

    def _unreachable(self, error: Exception) -> NoReturn:
        raise FeatureStoreError(
            f"cannot reach the Redis online store at {redact_url(self.url)} ({error}); "
            "start one with `redis-server`, or use the embedded SQLite store with `stack=local`"
        ) from error


@dataclass
class RedisOnlineStoreSpec(OnlineStoreSpec):
    """The shared store (``stack/online_store=redis``): a Redis server, keys under ``{key_prefix}:{project}``."""

    type: OnlineStoreType = OnlineStoreType.redis
    url: str = field(default=MISSING, metadata={"expected": "the Redis server's URL, redis://[:password@]host:port/db"})
    key_prefix: str = "hydraops"

    def open(self, namespace: str, *, timeout: float = 5.0) -> RedisOnlineStore:
        """The store at ``url``, its keys under ``{key_prefix}:{namespace}``."""
        if not self.url or self.url == MISSING:
            raise FeatureStoreError("stack.online_store.url is required when stack.online_store.type is redis")
        return RedisOnlineStore(self.url, key_prefix=f"{self.key_prefix}:{namespace}", timeout=timeout)

    def open_read_only(self, namespace: str) -> RedisOnlineStore:
        """The store, with a short connect timeout (for ``plan``: reading only)."""
        return self.open(namespace, timeout=1.0)

    def location(self) -> str:
        return redact_url(self.url)


def _glob_escape(text: bytes) -> bytes:
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", text)
