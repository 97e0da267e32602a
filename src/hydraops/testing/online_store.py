"""The online store contract as a pytest base class: every backend, ours and yours, inherits it.

    class TestMyStore(OnlineStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            with MyStore(tmp_path / "data") as store:     # a fresh, empty store per test
                yield store

        def reopen(self, store):                          # optional: a second connection on the same data
            return MyStore(store.path)

Needs pytest; the round-trip property runs too when hypothesis is installed (``pip install hydraops[testing]``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from hydraops.errors import FeatureStoreError
from hydraops.features.online.base import OnlineRow, OnlineStore, Pushed

__all__ = ["T0", "OnlineStoreContract", "row", "stored_form"]

#: The instant the contract's rows are stamped with (microseconds included, to prove they survive).
T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def row(key: tuple, ts: datetime = T0, **values: Any) -> OnlineRow:
    """An OnlineRow of ``key`` stamped ``ts`` with ``values`` as keyword arguments."""
    return OnlineRow(key, ts, values)


class OnlineStoreContract:
    """What every OnlineStore does. A subclass named ``Test...`` provides the ``store`` fixture (a fresh,
    empty store per test, closed afterwards) and, to check concurrent readers, ``reopen``."""

    @pytest.fixture
    def store(self) -> Iterator[OnlineStore]:
        pytest.fail(f"{type(self).__name__} must define a `store` fixture yielding a fresh, empty OnlineStore")
        yield  # pragma: no cover

    def reopen(self, store: OnlineStore) -> OnlineStore:
        """A second store on ``store``'s data with a connection of its own; closed by the caller."""
        pytest.skip(f"{type(self).__name__} does not define reopen(store): no second connection to check with")

    # --- writes replace a view as a whole, and record what they were computed from -------------------

    def test_a_write_replaces_the_rows_of_the_view(self, store: OnlineStore) -> None:
        """An entity absent from a newer write is gone, not left with its old values; other views stay."""
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

    def test_what_a_view_was_pushed_from_is_recorded(self, store: OnlineStore) -> None:
        assert store.pushed("v") is None
        store.write("v", [row((1,), a=1)], as_of=T0, version="abc-1")
        assert store.pushed("v") == Pushed("abc-1", T0) and store.pushed("v").as_of.tzinfo is UTC
        store.write("v", [row((1,), a=1)], as_of=T0 + timedelta(days=1))
        assert store.pushed("v") == Pushed(None, T0 + timedelta(days=1))

    def test_as_of_is_recorded_per_view(self, store: OnlineStore) -> None:
        assert store.as_of("a") is None
        store.write("a", [row((1,), x=1)], as_of=T0)
        assert store.write("b", [], as_of=T0 - timedelta(days=1)) == 0
        assert store.as_of("a") == T0 and store.as_of("a").tzinfo is UTC
        assert store.as_of("b") == T0 - timedelta(days=1)
        store.write("a", [row((1,), x=1)], as_of=T0 + timedelta(microseconds=1))
        assert store.as_of("a") == T0 + timedelta(microseconds=1)
        assert store.read("a", [(1,)])[0] == row((1,), x=1)

    def test_within_one_write_the_last_row_of_a_key_wins(self, store: OnlineStore) -> None:
        store.write("v", [row((1,), a=1), row((1,), T0 - timedelta(days=1), a=2)], as_of=T0)
        assert store.read("v", [(1,)]) == [row((1,), T0 - timedelta(days=1), a=2)]

    def test_a_failed_write_changes_nothing(self, store: OnlineStore) -> None:
        store.write("v", [row((1,), a=1)], as_of=T0, version="one")
        with pytest.raises(FeatureStoreError):
            store.write("v", [row((1,), a=2), row((2,), a=object())], as_of=T0 + timedelta(days=1), version="two")
        assert store.read("v", [(1,), (2,)]) == [row((1,), a=1), None]
        assert store.pushed("v") == Pushed("one", T0)

    def test_a_second_connection_sees_the_writes(self, store: OnlineStore) -> None:
        with self.reopen(store) as other:
            store.write("v", [row((1,), a=1)], as_of=T0, version="one")
            assert other.read("v", [(1,)]) == [row((1,), a=1)] and other.pushed("v") == Pushed("one", T0)

    def test_a_reader_never_sees_a_mix_of_two_writes(self, store: OnlineStore) -> None:
        """A concurrent reader (its own connection, its own thread) reads while writes alternate between
        two sets that overlap on half their keys: each read is exactly one set or the other."""
        first = [row((k,), a="first") for k in range(0, 1000)]
        second = [row((k,), a="second") for k in range(500, 1500)]
        expected = {"first": ["first"] * 1000 + [None] * 500, "second": [None] * 500 + ["second"] * 1000}
        keys = [(k,) for k in range(1500)]
        store.write("v", first, as_of=T0)
        seen: set[str] = set()
        mixed: list[list[str]] = []
        done = threading.Event()
        reader_store = self.reopen(store)

        def read() -> None:
            with reader_store as reader:
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

    # --- reads -----------------------------------------------------------------------------------

    def test_read_keeps_the_order_of_keys_with_none_where_absent(self, store: OnlineStore) -> None:
        store.write("v", [row((k,), a=k) for k in (1, 2, 3)], as_of=T0)
        found = store.read("v", [(3,), (99,), (1,), (2,), (3,)])
        assert [r.values["a"] if r else None for r in found] == [3, None, 1, 2, 3]
        assert found[0].key == (3,)
        assert store.read("v", []) == []
        assert store.read("other", [(1,)]) == [None]

    def test_batch_read(self, store: OnlineStore) -> None:
        store.write("v", (row((k,), T0 + timedelta(seconds=k), x=float(k)) for k in range(500)), as_of=T0)
        keys = [(k,) for k in range(0, 1000, 7)]
        found = store.read("v", keys)
        assert len(found) == len(keys)
        for (k,), r in zip(keys, found):
            assert (r is None) == (k >= 500)
            if r is not None:
                assert r.values == {"x": float(k)} and r.feature_ts == T0 + timedelta(seconds=k)

    def test_composite_keys(self, store: OnlineStore) -> None:
        import numpy as np

        store.write("v", [row((1, "eu"), a="1eu"), row((1, "us"), a="1us"), row(("1", "eu"), a="'1'eu")], as_of=T0)
        found = store.read("v", [(1, "us"), ("1", "eu"), (1, "eu"), (2, "eu"), (np.int64(1), "eu")])
        assert [r.values["a"] if r else None for r in found] == ["1us", "'1'eu", "1eu", None, "1eu"]
        with pytest.raises(FeatureStoreError, match="join-key value 1.5"):
            store.read("v", [(1.5, "eu")])

    def test_keys_is_a_deterministic_sample_of_one_view(self, store: OnlineStore) -> None:
        store.write("v", [row((k, "x"), a=k) for k in (3, 10, 2, 1)], as_of=T0)
        store.write("v:w", [row((99, "x"), a=1)], as_of=T0)  # another view, a prefix of whose name is "v"
        store.write("w", [row((4, "x"), a=1)], as_of=T0)
        assert store.keys("v", 10) == [(1, "x"), (10, "x"), (2, "x"), (3, "x")]  # by encoding: "[1," < "[10" < "[2"
        assert store.keys("v", 10) == store.keys("v", 10)
        assert len(store.keys("v", 2)) == 2
        assert store.keys("v", 0) == []
        assert store.keys("missing", 5) == []

    # --- values ----------------------------------------------------------------------------------

    def test_values_round_trip(self, store: OnlineStore) -> None:
        import numpy as np
        import pandas as pd

        ist = timezone(timedelta(hours=5, minutes=30))
        values = {
            "int": 7, "float": 0.1, "nan": math.nan, "none": None, "bool": True, "str": "é ünïcode",
            "when": datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=ist),
            "np_int": np.int64(2**40), "np_float": np.float32(1.5), "np_nan": np.float64("nan"),
            "np_bool": np.bool_(False), "np_str": np.str_("s"), "np_nat": np.datetime64("NaT"),
            "pd_ts": pd.Timestamp("2024-01-01 00:00:00.000001", tz="Europe/Paris"), "pd_nat": pd.NaT,
            "pd_na": pd.NA, "decimal": Decimal("12.50"),
        }  # fmt: skip
        store.write("v", [OnlineRow((1,), datetime(2024, 5, 6, 7, 8, 9, 1, tzinfo=ist), values)], as_of=T0)
        [back] = store.read("v", [(1,)])
        assert back.feature_ts == datetime(2024, 5, 6, 1, 38, 9, 1, tzinfo=UTC) and back.feature_ts.tzinfo is UTC
        assert back.values == {
            "int": 7, "float": 0.1, "nan": None, "none": None, "bool": True, "str": "é ünïcode",
            "when": datetime(2023, 1, 1, 21, 34, 5, 678901, tzinfo=UTC),
            "np_int": 2**40, "np_float": 1.5, "np_nan": None, "np_bool": False, "np_str": "s", "np_nat": None,
            "pd_ts": datetime(2023, 12, 31, 23, 0, 0, 1, tzinfo=UTC), "pd_nat": None, "pd_na": None, "decimal": 12.5,
        }  # fmt: skip
        assert back.values["when"].tzinfo is UTC
        assert [type(back.values[k]) for k in ("np_int", "np_float", "np_bool", "np_str")] == [int, float, bool, str]

    @pytest.mark.parametrize("bad", ["naive datetime", "naive numpy", "naive pandas", "dict", "bytes"])
    def test_naive_timestamps_and_unsupported_values_are_refused(self, store: OnlineStore, bad: str) -> None:
        import numpy as np
        import pandas as pd

        value = {
            "naive datetime": datetime(2024, 1, 1), "naive numpy": np.datetime64("2024-01-01"),
            "naive pandas": pd.Timestamp("2024-01-01"), "dict": {"a": 1}, "bytes": b"bytes",
        }[bad]  # fmt: skip
        with pytest.raises(FeatureStoreError):
            store.write("v", [row((1,), x=value)], as_of=T0)
        with pytest.raises(FeatureStoreError, match="timezone-aware"):
            store.write("v", [row((1,), datetime(2024, 1, 1), x=1)], as_of=T0)
        with pytest.raises(FeatureStoreError, match="timezone-aware"):
            store.write("v", [row((1,), x=1)], as_of=datetime(2024, 1, 1))
        assert store.read("v", [(1,)]) == [None]
        assert store.as_of("v") is None


def _round_trip_property() -> Any:
    """Any key, instant and values written come back as their encoding promises (needs hypothesis)."""
    try:
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st
    except ImportError:
        return pytest.mark.skip(reason="hypothesis is not installed")(lambda self, store: None)

    zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
    instants = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=zones)
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), instants)
    rows = st.builds(
        OnlineRow,
        st.lists(st.one_of(st.integers(), st.text()), min_size=1, max_size=3).map(tuple),
        instants,
        st.dictionaries(st.text(), scalars, max_size=8),
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(original=rows)
    def test_store_round_trip_property(self: OnlineStoreContract, store: OnlineStore, original: OnlineRow) -> None:
        store.write("prop", [original], as_of=T0)
        assert store.read("prop", [original.key]) == [stored_form(original)]

    return test_store_round_trip_property


def stored_form(original: OnlineRow) -> OnlineRow:
    """What a stored row reads back as: NaN as None, every instant in UTC."""

    def norm(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        return value.astimezone(UTC) if isinstance(value, datetime) else value

    return OnlineRow(original.key, original.feature_ts.astimezone(UTC), {k: norm(v) for k, v in original.values.items()})


OnlineStoreContract.test_store_round_trip_property = _round_trip_property()  # type: ignore[attr-defined]
