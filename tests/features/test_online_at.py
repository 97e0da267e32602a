"""``get_online_features(now=at)`` with ``at`` earlier than a stored value: the value is from the future
for that caller, so it is nulled and flagged ``later``, never served as current (a real SQLite store)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hydraops.features.online import SqliteOnlineStore, get_online_features
from hydraops.testing.online_store import T0, row
from tests.features.test_online import spec


def test_values_stamped_after_at_are_later_not_current(tmp_path: Path) -> None:
    with SqliteOnlineStore(tmp_path / "online.db") as store:
        store.write(
            "profile",
            [row((1,), T0, tenure_days=10, plan="pro"), row((2,), T0 + timedelta(hours=2), tenure_days=20, plan="free")],
            as_of=T0 + timedelta(hours=2),
        )
        store.write("spend", [row((1,), T0 - timedelta(days=3), amount_sum_7d=12.5, amount_count_7d=3)], as_of=T0 + timedelta(hours=2))
        rows = [{"customer_id": 1}, {"customer_id": 2}, {"customer_id": 3}]
        one, two, three = get_online_features(spec(), store, rows, now=T0 + timedelta(hours=1))
        assert one.values == {"tenure_days": 10, "plan": "pro", "amount_sum_7d": 12.5, "amount_count_7d": 3}
        assert one.later == one.expired == one.missing == ()
        # customer 2's profile was stored as of two hours after T0: not known one hour after T0
        assert two.values == dict.fromkeys(two.values) and two.later == ("tenure_days", "plan")
        assert two.missing == ("amount_sum_7d", "amount_count_7d") and two.expired == ()
        assert three.later == () and three.missing == tuple(three.values)
        # the boundary: a value stamped exactly `at` is current at `at`, one microsecond earlier it is later
        [exact] = get_online_features(spec(), store, [{"customer_id": 2}], feature_names=["plan"], now=T0 + timedelta(hours=2))
        assert exact.values == {"plan": "free"} and exact.later == ()
        [before] = get_online_features(spec(), store, [{"customer_id": 2}], feature_names=["plan"], now=T0 + timedelta(hours=2, microseconds=-1))
        assert before.values == {"plan": None} and before.later == ("plan",)
        # later is checked before the TTL: a value from the future is not "fresh" however small the gap
        [long_before] = get_online_features(spec(), store, [{"customer_id": 1}], feature_names=["tenure_days"], now=T0 - timedelta(days=30))
        assert long_before.later == ("tenure_days",) and long_before.expired == ()
