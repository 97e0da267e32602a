"""The online store: one contract suite run on SQLite and on real Redis, then the read API with a fake clock."""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
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
    OnlineRow,
    OnlineStore,
    Pushed,
    RedisOnlineStore,
    SqliteOnlineStore,
    get_online_features,
    open_online_store,
    view_feature_names,
)
from hydraops.features.online.base import decode_key, decode_row, encode_key, encode_row

REDIS_URL = os.environ.get("HYDRAOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


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


def row(key: tuple, ts: datetime = T0, **values: Any) -> OnlineRow:
    return OnlineRow(key, ts, values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the contract, on both backends ---------------------------------------------------------------


def test_a_write_replaces_the_rows_of_the_view(store: OnlineStore) -> None:
    """Issue 9, item 9: an entity absent from a newer write is gone, not left with its old values."""
    assert store.write("v", [row((1,), a=1), row((2,), a=2)], as_of=T0) == 2
    store.write("other", [row((2,), a="kept")], as_of=T0)
    assert store.write("v", [row((1,), T0 + timedelta(hours=1), a=10, b="new")], as_of=T0) == 1
    first, second = store.read("v", [(1,), (2,)])
    assert first == row((1,), T0 + timedelta(hours=1), a=10, b="new")
    assert second is None
    assert store.keys("v", 10) == [(1,)]
    assert store.read("other", [(2,)]) == [row((2,), a="kept")], "other views are untouched"
    assert store.write("v", [], as_of=T0) == 0
    assert store.read("v", [(1,)]) == [None] and store.keys("v", 10) == []


def test_what_a_view_was_pushed_from_is_recorded(store: OnlineStore) -> None:
    assert store.pushed("v") is None
    store.write("v", [row((1,), a=1)], as_of=T0, version="abc-1")
    assert store.pushed("v") == Pushed("abc-1", T0) and store.pushed("v").as_of.tzinfo is UTC
    store.write("v", [row((1,), a=1)], as_of=T0 + timedelta(days=1))
    assert store.pushed("v") == Pushed(None, T0 + timedelta(days=1))


@pytest.mark.slow
def test_a_reader_never_sees_a_mix_of_two_writes(store: OnlineStore, tmp_path: Path) -> None:
    """A real concurrent reader (its own connection, its own thread) reads while writes alternate between
    two sets that overlap on half their keys: each read is exactly one set or the other."""
    import threading

    first = [row((k,), a="first") for k in range(0, 1000)]
    second = [row((k,), a="second") for k in range(500, 1500)]
    expected = {"first": ["first"] * 1000 + [None] * 500, "second": [None] * 500 + ["second"] * 1000}
    keys = [(k,) for k in range(1500)]
    store.write("v", first, as_of=T0)
    seen, mixed, done = set(), [], threading.Event()

    def read() -> None:
        with reopen(store) as reader:
            while not done.is_set() or not seen:
                values = [r.values["a"] if r else None for r in reader.read("v", keys)]
                kind = next((k for k, e in expected.items() if values == e), None)
                seen.add(kind) if kind else mixed.append(sorted(set(map(str, values))))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(20):
            store.write("v", second if i % 2 == 0 else first, as_of=T0)
    finally:
        done.set()
        reader.join(timeout=60)
    assert not reader.is_alive()
    assert mixed == [], f"{len(mixed)} read(s) saw a mix of two writes"
    assert seen, "the reader read while the writes went on"


def reopen(store: OnlineStore) -> OnlineStore:
    """A second store on the same data, with a connection of its own."""
    if isinstance(store, SqliteOnlineStore):
        return SqliteOnlineStore(store.path)
    return RedisOnlineStore(store.url, key_prefix=store.key_prefix)


def test_within_one_write_the_last_row_of_a_key_wins(store: OnlineStore) -> None:
    store.write("v", [row((1,), a=1), row((1,), T0 - timedelta(days=1), a=2)], as_of=T0)
    assert store.read("v", [(1,)]) == [row((1,), T0 - timedelta(days=1), a=2)]


def test_read_keeps_the_order_of_keys_with_none_where_absent(store: OnlineStore) -> None:
    store.write("v", [row((k,), a=k) for k in (1, 2, 3)], as_of=T0)
    found = store.read("v", [(3,), (99,), (1,), (2,), (3,)])
    assert [r.values["a"] if r else None for r in found] == [3, None, 1, 2, 3]
    assert found[0].key == (3,)
    assert store.read("v", []) == []
    assert store.read("other", [(1,)]) == [None]


def test_batch_read(store: OnlineStore) -> None:
    store.write("v", (row((k,), T0 + timedelta(seconds=k), x=float(k)) for k in range(500)), as_of=T0)
    keys = [(k,) for k in range(0, 1000, 7)]
    found = store.read("v", keys)
    assert len(found) == len(keys)
    for (k,), r in zip(keys, found):
        assert (r is None) == (k >= 500)
        if r is not None:
            assert r.values == {"x": float(k)} and r.feature_ts == T0 + timedelta(seconds=k)


def test_values_round_trip(store: OnlineStore) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    values = {
        "int": 7,
        "float": 0.1,
        "nan": math.nan,
        "none": None,
        "bool": True,
        "str": "é ünïcode",
        "when": datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=ist),
        "np_int": np.int64(2**40),
        "np_float": np.float32(1.5),
        "np_nan": np.float64("nan"),
        "np_bool": np.bool_(False),
        "np_str": np.str_("s"),
        "np_nat": np.datetime64("NaT"),
        "pd_ts": pd.Timestamp("2024-01-01 00:00:00.000001", tz="Europe/Paris"),
        "pd_nat": pd.NaT,
        "pd_na": pd.NA,
        "decimal": Decimal("12.50"),
    }
    store.write("v", [OnlineRow((1,), datetime(2024, 5, 6, 7, 8, 9, 1, tzinfo=ist), values)], as_of=T0)
    [back] = store.read("v", [(1,)])
    assert back.feature_ts == datetime(2024, 5, 6, 1, 38, 9, 1, tzinfo=UTC) and back.feature_ts.tzinfo is UTC
    assert back.values == {
        "int": 7,
        "float": 0.1,
        "nan": None,
        "none": None,
        "bool": True,
        "str": "é ünïcode",
        "when": datetime(2023, 1, 1, 21, 34, 5, 678901, tzinfo=UTC),
        "np_int": 2**40,
        "np_float": 1.5,
        "np_nan": None,
        "np_bool": False,
        "np_str": "s",
        "np_nat": None,
        "pd_ts": datetime(2023, 12, 31, 23, 0, 0, 1, tzinfo=UTC),
        "pd_nat": None,
        "pd_na": None,
        "decimal": 12.5,
    }
    assert back.values["when"].tzinfo is UTC
    assert [type(back.values[k]) for k in ("np_int", "np_float", "np_bool", "np_str")] == [int, float, bool, str]


@pytest.mark.parametrize(
    "bad", [datetime(2024, 1, 1), np.datetime64("2024-01-01"), pd.Timestamp("2024-01-01"), {"a": 1}, b"bytes"]
)
def test_naive_timestamps_and_unsupported_values_are_refused(store: OnlineStore, bad: Any) -> None:
    with pytest.raises(FeatureStoreError):
        store.write("v", [row((1,), x=bad)], as_of=T0)
    with pytest.raises(FeatureStoreError, match="timezone-aware"):
        store.write("v", [row((1,), datetime(2024, 1, 1), x=1)], as_of=T0)
    with pytest.raises(FeatureStoreError, match="timezone-aware"):
        store.write("v", [row((1,), x=1)], as_of=datetime(2024, 1, 1))
    assert store.read("v", [(1,)]) == [None]
    assert store.as_of("v") is None


def test_composite_keys(store: OnlineStore) -> None:
    store.write("v", [row((1, "eu"), a="1eu"), row((1, "us"), a="1us"), row(("1", "eu"), a="'1'eu")], as_of=T0)
    found = store.read("v", [(1, "us"), ("1", "eu"), (1, "eu"), (2, "eu"), (np.int64(1), "eu")])
    assert [r.values["a"] if r else None for r in found] == ["1us", "'1'eu", "1eu", None, "1eu"]
    with pytest.raises(FeatureStoreError, match="join-key value 1.5"):
        store.read("v", [(1.5, "eu")])


def test_as_of_is_recorded_per_view(store: OnlineStore) -> None:
    assert store.as_of("a") is None
    store.write("a", [row((1,), x=1)], as_of=T0)
    assert store.write("b", [], as_of=T0 - timedelta(days=1)) == 0
    assert store.as_of("a") == T0 and store.as_of("a").tzinfo is UTC
    assert store.as_of("b") == T0 - timedelta(days=1)
    store.write("a", [row((1,), x=1)], as_of=T0 + timedelta(microseconds=1))
    assert store.as_of("a") == T0 + timedelta(microseconds=1)
    assert store.read("a", [(1,)])[0] == row((1,), x=1)


def test_keys_is_a_deterministic_sample_of_one_view(store: OnlineStore) -> None:
    store.write("v", [row((k, "x"), a=k) for k in (3, 10, 2, 1)], as_of=T0)
    store.write("v:w", [row((99, "x"), a=1)], as_of=T0)  # another view, a prefix of whose name is "v"
    store.write("w", [row((4, "x"), a=1)], as_of=T0)
    assert store.keys("v", 10) == [(1, "x"), (10, "x"), (2, "x"), (3, "x")]  # by encoding: "[1," < "[10" < "[2"
    assert store.keys("v", 10) == store.keys("v", 10)
    assert len(store.keys("v", 2)) == 2
    assert store.keys("v", 0) == []
    assert store.keys("missing", 5) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_store_round_trip_property(store: OnlineStore, data: st.DataObject) -> None:
    key = data.draw(keys)
    original = OnlineRow(key, data.draw(instants), data.draw(value_dicts))
    store.write("prop", [original], as_of=T0)
    assert store.read("prop", [key]) == [expected(original)]


# --- the encoding, by property ---------------------------------------------------------------------

zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
instants = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=zones)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), instants)
value_dicts = st.dictionaries(st.text(), scalars, max_size=8)
keys = st.lists(st.one_of(st.integers(), st.text()), min_size=1, max_size=3).map(tuple)


def expected(original: OnlineRow) -> OnlineRow:
    """What a stored row reads back as: NaN as None, every instant in UTC."""

    def norm(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        return value.astimezone(UTC) if isinstance(value, datetime) else value

    return OnlineRow(original.key, original.feature_ts.astimezone(UTC), {k: norm(v) for k, v in original.values.items()})


@given(key=keys, ts=instants, values=value_dicts)
def test_encoding_round_trips(key: tuple, ts: datetime, values: dict[str, Any]) -> None:
    assert decode_key(encode_key(key)) == key
    back = decode_row(key, encode_row(OnlineRow(key, ts, values)))
    assert back == expected(OnlineRow(key, ts, values))
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


def test_sqlite_failed_write_changes_nothing(tmp_path: Path) -> None:
    with SqliteOnlineStore(tmp_path / "online.db") as store:
        store.write("v", [row((1,), a=1)], as_of=T0)
        with pytest.raises(FeatureStoreError):
            store.write("v", [row((1,), a=2), row((2,), a=object())], as_of=T0 + timedelta(days=1))
        assert store.read("v", [(1,), (2,)]) == [row((1,), a=1), None]
        assert store.as_of("v") == T0


def test_sqlite_is_shared_between_connections(tmp_path: Path) -> None:
    path = tmp_path / "online.db"
    with SqliteOnlineStore(path) as writer, SqliteOnlineStore(path) as reader:
        writer.write("v", [row((1,), a=1)], as_of=T0)
        assert reader.read("v", [(1,)]) == [row((1,), a=1)]


def test_open_sqlite_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "online.db"
    with open_online_store(OnlineStoreSpec(type=OnlineStoreType.sqlite, path=str(path)), "proj") as store:
        assert isinstance(store, SqliteOnlineStore)
        store.write("v", [row((1,), a=1)], as_of=T0)
    assert path.exists()
    with pytest.raises(FeatureStoreError, match="path is required"):
        open_online_store(OnlineStoreSpec(type="sqlite"), "proj")
    with pytest.raises(FeatureStoreError, match="url is required"):
        open_online_store(OnlineStoreSpec(type="redis"), "proj")


def test_open_redis_prefixes_keys_with_the_namespace(redis_prefix: str) -> None:
    import redis

    spec = OnlineStoreSpec(type=OnlineStoreType.redis, url=REDIS_URL, key_prefix=redis_prefix)
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
        open_online_store(OnlineStoreSpec(type="redis", url=url), "proj")
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
            "risk": FeatureViewSpec(
                entity="merchant", source="merchants", ttl="2h", features={"risk_score": FeatureSpec(expr="risk")}
            ),
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
    assert view_feature_names(features.views["spend"]) == ["amount_sum_7d", "amount_count_7d"]
    assert [n for v in features.views.values() for n in view_feature_names(v)] == features.feature_names()


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
