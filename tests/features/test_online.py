"""The online store: the contract suite (hydraops.testing) run on SQLite, real Redis and in memory, each
backend's specifics, then the read API with a fake clock."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydraops.config.schemas.data import (
    AggFunc,
    AggregationSpec,
    EntitySpec,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    OnlineStoreSpec,
    OnlineStoreType,
)
from hydraops.errors import HydraopsError
from hydraops.features.online import (
    FeatureStoreError,
    InMemoryOnlineStore,
    MemoryOnlineStoreSpec,
    OnlineRow,
    OnlineStore,
    Pushed,
    RedisOnlineStore,
    RedisOnlineStoreSpec,
    SqliteOnlineStore,
    SqliteOnlineStoreSpec,
    get_online_features,
    open_online_store,
    read_pushed,
)
from hydraops.features.online.base import decode_key, decode_row, encode_key, encode_row
from hydraops.testing import OnlineStoreContract
from hydraops.testing.online_store import T0, row, stored_form

REDIS_URL = os.environ.get("HYDRAOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@cache
def redis_unreachable() -> str | None:
    """Why Redis cannot be used here, or None when it can."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as error:
        return f"Redis not reachable at {REDIS_URL} ({error}); start redis-server or set HYDRAOPS_TEST_REDIS_URL"
    return None


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix no one else uses; every key under it is deleted afterwards."""
    if reason := redis_unreachable():
        pytest.skip(reason)
    import redis

    prefix = f"hydraops-test:{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(stale), 1000):
        client.delete(*stale[start : start + 1000])
    client.close()


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    if request.param == "sqlite":
        opened: OnlineStore = SqliteOnlineStore(tmp_path / "online.db")
    else:
        opened = RedisOnlineStore(REDIS_URL, key_prefix=request.getfixturevalue("redis_prefix"))
    with opened:
        yield opened


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the contract (hydraops.testing.OnlineStoreContract), on every backend --------------------------


class TestSqliteOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[OnlineStore]:
        with SqliteOnlineStore(tmp_path / "online.db") as opened:
            yield opened

    def reopen(self, store: SqliteOnlineStore) -> OnlineStore:
        return SqliteOnlineStore(store.path)


class TestRedisOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, redis_prefix: str) -> Iterator[OnlineStore]:
        with RedisOnlineStore(REDIS_URL, key_prefix=redis_prefix) as opened:
            yield opened

    def reopen(self, store: RedisOnlineStore) -> OnlineStore:
        return RedisOnlineStore(store.url, key_prefix=store.key_prefix)


class TestInMemoryOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[OnlineStore]:
        with InMemoryOnlineStore() as opened:
            yield opened

    def reopen(self, store: InMemoryOnlineStore) -> OnlineStore:
        return store.connect()


def test_a_closed_in_memory_store_refuses_use_and_its_other_handles_go_on() -> None:
    store = InMemoryOnlineStore()
    other = store.connect()
    store.write("v", [row((1,), a=1)], as_of=T0)
    store.close()
    with pytest.raises(FeatureStoreError, match="closed"):
        store.read("v", [(1,)])
    assert other.read("v", [(1,)]) == [row((1,), a=1)]
    assert InMemoryOnlineStore().read("v", [(1,)]) == [None], "separate stores share nothing"


# --- the encoding, by property ---------------------------------------------------------------------

zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
instants = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=zones)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), instants)
value_dicts = st.dictionaries(st.text(), scalars, max_size=8)
keys = st.lists(st.one_of(st.integers(), st.text()), min_size=1, max_size=3).map(tuple)


@given(key=keys, ts=instants, values=value_dicts)
def test_encoding_round_trips(key: tuple, ts: datetime, values: dict[str, Any]) -> None:
    assert decode_key(encode_key(key)) == key
    back = decode_row(key, encode_row(OnlineRow(key, ts, values)))
    assert back == stored_form(OnlineRow(key, ts, values))
    assert back.feature_ts.tzinfo is UTC
    assert all(v.tzinfo is UTC for v in back.values.values() if isinstance(v, datetime))


@given(key=keys)
def test_key_encoding_is_deterministic(key: tuple) -> None:
    assert encode_key(key) == encode_key(list(key)) == encode_key(tuple(key))


# --- backend specifics -----------------------------------------------------------------------------


def test_sqlite_reads_more_keys_than_one_statement_can_bind(tmp_path: Path) -> None:
    with SqliteOnlineStore(tmp_path / "online.db") as store:
        many = 40_000  # above SQLite's default limit of 32,766 bound variables
        assert store.write("v", (row((k,), a=k) for k in range(many)), as_of=T0) == many
        found = store.read("v", [(k,) for k in range(many + 10)])
        assert [r.values["a"] for r in found[:many]] == list(range(many)) and found[many:] == [None] * 10


def test_open_sqlite_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "online.db"
    with open_online_store(SqliteOnlineStoreSpec(path=str(path)), "proj") as store:
        assert isinstance(store, SqliteOnlineStore)
        store.write("v", [row((1,), a=1)], as_of=T0)
    assert path.exists()
    with pytest.raises(FeatureStoreError, match="stack.online_store.path is required"):
        open_online_store(SqliteOnlineStoreSpec(), "proj")
    with pytest.raises(FeatureStoreError, match="stack.online_store.url is required"):
        open_online_store(RedisOnlineStoreSpec(), "proj")


def test_each_type_opens_with_its_own_schema_only(tmp_path: Path) -> None:
    with open_online_store(MemoryOnlineStoreSpec(), "proj") as store:
        assert isinstance(store, InMemoryOnlineStore)
    assert read_pushed(MemoryOnlineStoreSpec(), "proj", ["v"]) == {"v": None}
    assert read_pushed(SqliteOnlineStoreSpec(path=str(tmp_path / "absent.db")), "proj", ["v"]) == {"v": None}
    assert not (tmp_path / "absent.db").exists()
    with pytest.raises(FeatureStoreError, match="needs the schema SqliteOnlineStoreSpec, got OnlineStoreSpec"):
        open_online_store(OnlineStoreSpec(type=OnlineStoreType.sqlite), "proj")


def test_open_redis_prefixes_keys_with_the_namespace(redis_prefix: str) -> None:
    import redis

    spec = RedisOnlineStoreSpec(url=REDIS_URL, key_prefix=redis_prefix)
    with open_online_store(spec, "churn") as store:
        assert isinstance(store, RedisOnlineStore)
        store.write("profile", [row((42, "eu"), a=1)], as_of=T0)
    client = redis.Redis.from_url(REDIS_URL)
    assert sorted(client.scan_iter(match=f"{redis_prefix}:*")) == [
        f"{redis_prefix}:churn:profile:pushed".encode(),
        f"{redis_prefix}:churn:profile:rows".encode(),
    ]
    assert client.hkeys(f"{redis_prefix}:churn:profile:rows") == [b'[42,"eu"]']
    client.close()


def test_redis_views_of_the_string_per_row_layout_are_pushed_again_and_cleaned(redis_prefix: str) -> None:
    """Rows written by older versions (one string per row, `:as_of`) read as not pushed from any version,
    so materialize pushes again; that write deletes them."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.mset({f"{redis_prefix}:v:[1]": encode_row(row((1,), a=1)), f"{redis_prefix}:v:as_of": 5})
    with RedisOnlineStore(REDIS_URL, key_prefix=redis_prefix) as store:
        assert store.pushed("v") == Pushed(None, datetime(1970, 1, 1, 0, 0, 0, 5, tzinfo=UTC))
        store.write("v", [row((2,), a=2)], as_of=T0, version="new")
        assert store.read("v", [(1,), (2,)]) == [None, row((2,), a=2)]
    assert sorted(client.scan_iter(match=f"{redis_prefix}:*")) == [f"{redis_prefix}:v:{k}".encode() for k in ("pushed", "rows")]
    client.close()


def test_a_failed_redis_write_leaves_the_rows_and_no_staging_key(redis_prefix: str) -> None:
    import redis

    with RedisOnlineStore(REDIS_URL, key_prefix=redis_prefix) as store:
        store.write("v", [row((1,), a=1)], as_of=T0, version="one")
        many = (row((k,), a=k if k < 15_000 else object()) for k in range(20_000))  # fails in the second chunk
        with pytest.raises(FeatureStoreError):
            store.write("v", many, as_of=T0 + timedelta(days=1), version="two")
        assert store.read("v", [(1,), (2,)]) == [row((1,), a=1), None] and store.pushed("v") == Pushed("one", T0)
    client = redis.Redis.from_url(REDIS_URL)
    assert not list(client.scan_iter(match=f"{redis_prefix}:v:staging:*"))
    client.close()


@pytest.mark.parametrize("url", ["redis://127.0.0.1:{port}/0", "redis://:s3cret@127.0.0.1:{port}/0"])
def test_unreachable_redis_is_a_readable_error(url: str) -> None:
    url = url.format(port=free_port())
    with pytest.raises(FeatureStoreError) as raised:
        open_online_store(RedisOnlineStoreSpec(url=url), "proj")
    message = str(raised.value)
    assert "127.0.0.1" in message and "redis-server" in message and "stack=local" in message
    assert "s3cret" not in message
    assert isinstance(raised.value, HydraopsError) and raised.value.exit_code == 2


# --- get_online_features, with a controlled clock --------------------------------------------------


def spec() -> FeaturesSpec:
    return FeaturesSpec(
        entities={
            "customer": EntitySpec(join_keys=["customer_id"]),
            "merchant": EntitySpec(join_keys=["merchant_id", "region"]),
        },
        views={
            "profile": FeatureViewSpec(
                entity="customer",
                source="customers",
                ttl="1d",
                features={"tenure_days": FeatureSpec(expr="tenure"), "plan": FeatureSpec(expr="plan")},
            ),
            "spend": FeatureViewSpec(
                entity="customer",
                source="transactions",
                aggregations=[AggregationSpec(column="amount", agg=[AggFunc.sum, AggFunc.count], windows=["7d"])],
            ),
            "risk": FeatureViewSpec(entity="merchant", source="merchants", ttl="2h", features={"risk_score": FeatureSpec(expr="risk")}),
        },
    )


class CountingStore(OnlineStore):
    """Delegates to a store and records each ``read``: (view, number of keys)."""

    def __init__(self, inner: OnlineStore) -> None:
        self.inner, self.reads = inner, []

    def write(self, view: str, rows: Any, *, as_of: datetime, version: str | None = None) -> int:
        return self.inner.write(view, rows, as_of=as_of, version=version)

    def read(self, view: str, keys: Sequence[tuple]) -> list[OnlineRow | None]:
        self.reads.append((view, len(keys)))
        return self.inner.read(view, keys)

    def pushed(self, view: str) -> Pushed | None:
        return self.inner.pushed(view)

    def keys(self, view: str, limit: int) -> list[tuple]:
        return self.inner.keys(view, limit)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def served(store: OnlineStore) -> CountingStore:
    """Customers 1 and 2 in profile and spend (customer 2's spend row lacks a feature), merchant (7, eu)."""
    store.write("profile", [row((1,), tenure_days=10, plan="pro"), row((2,), tenure_days=20, plan="free")], as_of=T0)
    store.write("spend", [row((1,), amount_sum_7d=12.5, amount_count_7d=3), row((2,), amount_sum_7d=1.0)], as_of=T0)
    store.write("risk", [row((7, "eu"), risk_score=0.9)], as_of=T0)
    return CountingStore(store)


def test_view_feature_names_agree_with_the_spec() -> None:
    features = spec()
    assert features.views["spend"].feature_names() == ["amount_sum_7d", "amount_count_7d"]
    assert [n for v in features.views.values() for n in v.feature_names()] == features.feature_names()


def test_fresh_values_one_read_per_view(served: CountingStore) -> None:
    rows = [{"customer_id": 1}, {"customer_id": 2}, {"customer_id": 3, "other": "ignored"}]
    one, two, three = get_online_features(spec(), served, rows, now=T0 + timedelta(hours=1))
    assert served.reads == [("profile", 3), ("spend", 3)]  # merchant not given: its view is not read
    assert one.values == {"tenure_days": 10, "plan": "pro", "amount_sum_7d": 12.5, "amount_count_7d": 3}
    assert one.expired == one.missing == ()
    assert two.values["amount_count_7d"] is None and two.missing == ("amount_count_7d",)
    assert three.values == dict.fromkeys(three.values) and three.missing == tuple(three.values)


def test_ttl_boundary_is_not_expired_one_microsecond_later_is(served: CountingStore) -> None:
    [at] = get_online_features(spec(), served, [{"customer_id": 1}], now=T0 + timedelta(days=1))
    assert at.values["tenure_days"] == 10 and at.expired == ()
    [after] = get_online_features(spec(), served, [{"customer_id": 1}], now=T0 + timedelta(days=1, microseconds=1))
    assert after.expired == ("tenure_days", "plan")
    assert after.values == {"tenure_days": None, "plan": None, "amount_sum_7d": 12.5, "amount_count_7d": 3}
    assert after.missing == ()


def test_views_without_ttl_never_expire(served: CountingStore) -> None:
    [result] = get_online_features(spec(), served, [{"customer_id": 1}], now=T0 + timedelta(days=3650))
    assert result.values["amount_sum_7d"] == 12.5 and result.expired == ("tenure_days", "plan")


def test_feature_names_filter_and_order(served: CountingStore) -> None:
    rows = [{"customer_id": 1, "merchant_id": 7, "region": "eu"}, {"customer_id": 2, "merchant_id": 7, "region": "us"}]
    names = ["risk_score", "plan", "risk_score"]
    first, second = get_online_features(spec(), served, rows, feature_names=names, now=T0 + timedelta(hours=3))
    assert served.reads == [("profile", 2), ("risk", 2)]
    assert list(first.values) == ["risk_score", "plan"]
    assert first.values == {"risk_score": None, "plan": "pro"} and first.expired == ("risk_score",)
    assert second.values == {"risk_score": None, "plan": "free"} and second.missing == ("risk_score",)


def test_unknown_feature_name(served: CountingStore) -> None:
    with pytest.raises(FeatureStoreError, match="unknown features: nope") as raised:
        get_online_features(spec(), served, [{"customer_id": 1}], feature_names=["plan", "nope"], now=T0)
    assert isinstance(raised.value, HydraopsError) and raised.value.exit_code == 2
    assert served.reads == []


def test_missing_join_keys(served: CountingStore) -> None:
    with pytest.raises(FeatureStoreError, match="join key 'region' of entity 'merchant'"):
        get_online_features(spec(), served, [{"merchant_id": 7}], now=T0)
    with pytest.raises(FeatureStoreError, match="row 1 lacks join key 'customer_id' of entity 'customer'"):
        get_online_features(spec(), served, [{"customer_id": 1}, {"merchant_id": 7, "region": "eu"}], now=T0)
    with pytest.raises(FeatureStoreError, match="join key 'customer_id' of entity 'customer'"):
        get_online_features(spec(), served, [{"merchant_id": 7, "region": "eu"}], feature_names=["plan"], now=T0)
    with pytest.raises(FeatureStoreError, match="no entity's join keys"):
        get_online_features(spec(), served, [{"id": 1}], now=T0)


def test_clock(served: CountingStore) -> None:
    assert get_online_features(spec(), served, [], now=T0) == []
    with pytest.raises(FeatureStoreError, match="timezone-aware"):
        get_online_features(spec(), served, [{"customer_id": 1}], now=datetime(2024, 1, 1))
    [stale] = get_online_features(spec(), served, [{"customer_id": 1}])  # the real clock: T0 is long past
    assert stale.expired == ("tenure_days", "plan")
