"""The online store: the latest feature values per entity, served with the TTL enforced at read time.

Backends: SQLite (embedded), Redis (shared), in memory (tests); each with its config schema beside it.

    with open_online_store(stack.online_store, namespace="churn") as store:
        [row] = get_online_features(features, store, [{"customer_id": 42}])
        row.values      # {"tenure_days": 812, "amount_sum_7d": 13.5, ...}
        row.expired     # features nulled because their view's TTL ran out
        row.missing     # features with no stored value for this entity
        row.later       # features whose stored value is from after `now` (an `at` in the past): nulled
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hydraops.config.durations import parse_duration
from hydraops.config.schemas.data import FeaturesSpec, OnlineStoreSpec, OnlineStoreType
from hydraops.features.online.base import FeatureStoreError, OnlineRow, OnlineStore, Pushed
from hydraops.features.online.memory import InMemoryOnlineStore, MemoryOnlineStoreSpec
from hydraops.features.online.redis import RedisOnlineStore, RedisOnlineStoreSpec
from hydraops.features.online.sqlite import SqliteOnlineStore, SqliteOnlineStoreSpec

#: Each ``stack.online_store.type`` and the schema that types its config (``stack/online_store=<type>``).
ONLINE_STORES: dict[OnlineStoreType, type[OnlineStoreSpec]] = {
    OnlineStoreType.sqlite: SqliteOnlineStoreSpec,
    OnlineStoreType.redis: RedisOnlineStoreSpec,
    OnlineStoreType.memory: MemoryOnlineStoreSpec,
}

__all__ = [
    "ONLINE_STORES",
    "FeatureStoreError",
    "InMemoryOnlineStore",
    "MemoryOnlineStoreSpec",
    "OnlineFeatures",
    "OnlineRow",
    "OnlineStore",
    "Pushed",
    "RedisOnlineStore",
    "RedisOnlineStoreSpec",
    "SqliteOnlineStore",
    "SqliteOnlineStoreSpec",
    "get_online_features",
    "open_online_store",
    "read_pushed",
]


@dataclass(frozen=True)
class OnlineFeatures:
    """The features of one entity row: values (None where expired, missing or later) and which were which."""

    values: dict[str, Any]
    expired: tuple[str, ...]
    missing: tuple[str, ...]
    later: tuple[str, ...] = ()  # stored value's feature timestamp is after `now`: not known at `now`


def open_online_store(spec: OnlineStoreSpec, namespace: str) -> OnlineStore:
    """The store ``spec`` declares: the SQLite file at ``spec.path`` (parent folders created), Redis at
    ``spec.url`` under the key prefix ``{spec.key_prefix}:{namespace}``, or a new in-memory store."""
    return _backend_spec(spec).open(namespace)


def read_pushed(spec: OnlineStoreSpec, namespace: str, views: Sequence[str]) -> dict[str, Pushed | None]:
    """What the store declared by ``spec`` holds per view, read without writing anything: a SQLite file
    that does not exist is not created, and Redis gets a short connect timeout (this is for ``plan``)."""
    store = _backend_spec(spec).open_read_only(namespace)
    if store is None:
        return dict.fromkeys(views)
    with store:
        return {view: store.pushed(view) for view in views}


def _backend_spec(spec: OnlineStoreSpec) -> SqliteOnlineStoreSpec | RedisOnlineStoreSpec | MemoryOnlineStoreSpec:
    """``spec`` itself when it is the schema of its ``type``; a FeatureStoreError naming what it should be."""
    expected = ONLINE_STORES[OnlineStoreType(spec.type)]
    if not isinstance(spec, expected):
        raise FeatureStoreError(
            f"stack.online_store of type {OnlineStoreType(spec.type).value} needs the schema {expected.__name__}, "
            f"got {type(spec).__name__} (select the store with stack/online_store={OnlineStoreType(spec.type).value})"
        )
    return spec


def get_online_features(
    features: FeaturesSpec,
    store: OnlineStore,
    entity_keys: Sequence[Mapping[str, Any]],
    *,
    feature_names: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[OnlineFeatures]:
    """The latest features of each entity row, one ``read`` per view for all rows.

    Without ``feature_names``, every view of an entity whose join keys the rows give is served; with them,
    exactly those features (in that order). Either way each row must give every join key of every entity
    served. A value is expired when ``now - feature_ts > ttl`` (strictly), missing when nothing is stored,
    later when ``feature_ts > now`` (a ``now`` in the past: the store holds the latest values only, so a
    value from after ``now`` is never served as current; ask the offline store for the past).
    """
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None or now.utcoffset() is None:
        raise FeatureStoreError(f"naive clock {now!r}: `now` must be timezone-aware")
    view_names = {view: spec.feature_names() for view, spec in features.views.items()}
    if feature_names is None:
        given = {key for row in entity_keys for key in row}
        wanted = [name for view, names in view_names.items() if given & set(features.entities[features.views[view].entity].join_keys) for name in names]
        if entity_keys and not wanted:
            entities = "; ".join(f"{name}: {', '.join(spec.join_keys)}" for name, spec in features.entities.items())
            raise FeatureStoreError(f"the entity rows give no entity's join keys (expected those of {entities})")
    else:
        wanted = list(dict.fromkeys(feature_names))
        declared = [name for names in view_names.values() for name in names]
        unknown = [name for name in wanted if name not in declared]
        if unknown:
            raise FeatureStoreError(f"unknown features: {', '.join(unknown)} (declared: {', '.join(declared)})")
    if not entity_keys:
        return []
    served = set(wanted)

    found: dict[str, list[Any]] = {}  # feature name → its value per entity row, or _EXPIRED / _MISSING
    for view, names in view_names.items():
        names = [name for name in names if name in served]
        if not names:
            continue
        spec = features.views[view]
        keys = [_entity_key(features, spec.entity, row, index) for index, row in enumerate(entity_keys)]
        ttl = parse_duration(spec.ttl) if spec.ttl else None
        rows = store.read(view, keys)
        for name in names:
            found[name] = [_value(row, name, ttl, now) for row in rows]

    results = []
    for index in range(len(entity_keys)):
        values: dict[str, Any] = {}
        flagged: dict[object, list[str]] = {_EXPIRED: [], _MISSING: [], _LATER: []}
        for name in wanted:
            value = found[name][index]
            marker = next((m for m in flagged if value is m), None)  # by identity: values may be unhashable
            values[name] = value if marker is None else None
            if marker is not None:
                flagged[marker].append(name)
        results.append(OnlineFeatures(values, tuple(flagged[_EXPIRED]), tuple(flagged[_MISSING]), tuple(flagged[_LATER])))
    return results


_EXPIRED, _MISSING, _LATER = object(), object(), object()


def _value(row: OnlineRow | None, name: str, ttl: timedelta | None, now: datetime) -> Any:
    if row is None or name not in row.values:
        return _MISSING
    if row.feature_ts is None:  # a static view: valid at every instant, never expires
        return row.values[name]
    if row.feature_ts > now:
        return _LATER
    if ttl is not None and now - row.feature_ts > ttl:
        return _EXPIRED
    return row.values[name]


def _entity_key(features: FeaturesSpec, entity: str, row: Mapping[str, Any], index: int) -> tuple:
    join_keys = features.entities[entity].join_keys
    for key in join_keys:
        if key not in row:
            raise FeatureStoreError(f"entity row {index} lacks join key '{key}' of entity '{entity}'")
    return tuple(row[key] for key in join_keys)
