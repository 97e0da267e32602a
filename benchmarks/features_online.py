"""Read latency of the online store: embedded SQLite in-process beside Redis over loopback.

Stores N rows of 5 features in one view on each backend, then times, after a warm-up, single-entity
``read`` calls on random keys, 100-entity batch ``read`` calls, and ``get_online_features`` for one
entity (the serving path: read + TTL). Reports p50/p99 of each side by side and writes
``benchmarks/results/features_online.json``.

    python benchmarks/features_online.py [--rows 20000] [--lookups 5000] [--batches 1000]
        [--redis-url redis://127.0.0.1:6379/0]

Numbers only: nothing here asserts a time. Redis keys go under a unique prefix and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from hydraops.config.schemas.data import EntitySpec, FeatureSpec, FeaturesSpec, FeatureViewSpec  # noqa: E402
from hydraops.features.online import (  # noqa: E402
    FeatureStoreError,
    OnlineRow,
    OnlineStore,
    RedisOnlineStore,
    SqliteOnlineStore,
    get_online_features,
)

VIEW = "customer_stats"
FEATURES = FeaturesSpec(
    entities={"customer": EntitySpec(join_keys=["customer_id"])},
    views={
        VIEW: FeatureViewSpec(
            entity="customer",
            source="customers",
            ttl="30d",
            features={name: FeatureSpec(expr=name) for name in ("tenure_days", "plan", "spend_30d", "churned", "last_seen")},
        )
    },
)


def rows(count: int, now: dt.datetime) -> list[OnlineRow]:
    rng = random.Random(0)
    return [
        OnlineRow(
            (k,),
            now - dt.timedelta(seconds=rng.randrange(86_400)),
            {
                "tenure_days": rng.randrange(3_000),
                "plan": rng.choice(["free", "pro", "team"]),
                "spend_30d": rng.random() * 500,
                "churned": rng.random() < 0.1,
                "last_seen": now - dt.timedelta(minutes=rng.randrange(10_000)),
            },
        )
        for k in range(count)
    ]


def timed(call: Callable[[], object], runs: int, warmup: int) -> dict[str, float]:
    """p50/p99/mean of ``call`` in microseconds."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1_000)
    samples.sort()
    return {
        "p50_us": samples[len(samples) // 2],
        "p99_us": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "mean_us": statistics.fmean(samples),
        "runs": runs,
    }


def measure(store: OnlineStore, args: argparse.Namespace, now: dt.datetime) -> dict[str, dict[str, float]]:
    start = time.perf_counter()
    store.write(VIEW, rows(args.rows, now), as_of=now)
    write_s = time.perf_counter() - start
    rng = random.Random(1)
    singles = iter([[(rng.randrange(args.rows),)] for _ in range(args.lookups + args.warmup)])
    batches = iter([[(rng.randrange(args.rows),) for _ in range(100)] for _ in range(args.batches + args.warmup)])
    entities = iter([[{"customer_id": rng.randrange(args.rows)}] for _ in range(args.lookups + args.warmup)])
    return {
        "write": {"rows": args.rows, "seconds": write_s},
        "read 1 entity": timed(lambda: store.read(VIEW, next(singles)), args.lookups, args.warmup),
        "read 100 entities": timed(lambda: store.read(VIEW, next(batches)), args.batches, args.warmup),
        "get_online_features 1 entity": timed(lambda: get_online_features(FEATURES, store, next(entities), now=now), args.lookups, args.warmup),
    }


def delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    stale = list(client.scan_iter(match=f"{prefix}:*", count=10_000))
    for start in range(0, len(stale), 10_000):
        client.delete(*stale[start : start + 10_000])
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--batches", type=int, default=1_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "features_online.json")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, SqliteOnlineStore(Path(tmp) / "online.db") as store:
        results["sqlite"] = measure(store, args, now)
    prefix = f"hydraops-bench:{uuid.uuid4().hex}"
    try:
        with RedisOnlineStore(args.redis_url, key_prefix=prefix) as store:
            results["redis"] = measure(store, args, now)
    except FeatureStoreError as error:
        print(f"redis skipped: {error}", file=sys.stderr)
    finally:
        try:
            delete_prefix(args.redis_url, prefix)
        except Exception:  # noqa: BLE001 - nothing to clean when Redis is down
            pass

    backends = list(results)
    print(f"{'':36}" + "".join(f"{name:>22}" for name in backends))
    print(f"{'write (rows/s)':36}" + "".join(f"{results[b]['write']['rows'] / results[b]['write']['seconds']:>22,.0f}" for b in backends))
    for measurement in ("read 1 entity", "read 100 entities", "get_online_features 1 entity"):
        cells = "".join(f"{results[b][measurement]['p50_us']:>10.1f} /{results[b][measurement]['p99_us']:>8.1f} µs" for b in backends)
        print(f"{measurement + ' p50 / p99':36}{cells}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "date": now.isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),  # p99s on a busy machine measure its scheduler too
                "rows": args.rows,
                "features": 5,
                "lookups": args.lookups,
                "batches": args.batches,
                "warmup": args.warmup,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(
        f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; written: {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}"
    )


if __name__ == "__main__":
    main()
