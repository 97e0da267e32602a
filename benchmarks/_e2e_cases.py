"""The data sets of ``features_e2e.py``: a hydraops project folder plus a plain description of its views.

The description (``case.json`` in the project folder) is what the brute-force query and Feast are built
from, independently of hydraops: per view its source file, key, event and created timestamp columns,
TTL, and either row features (plain columns) or aggregations (column × functions × windows).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHURN = REPO / "projects" / "churn"
DAY = 86_400

#: churn's conf/features/churn.yaml and conf/config.yaml, as the other contenders read them.
CHURN_CASE = {
    "entity": "customer",
    "labels": {"path": "data/labels.parquet", "keys": ["customer_id"], "timestamp": "label_time", "target": "churned"},
    "views": [
        {
            "name": "customer_profile",
            "path": "data/customers.parquet",
            "timestamp": "signup_date",
            "features": {"plan": "string", "region": "string", "age": "int64"},
        },
        {
            "name": "transaction_activity",
            "path": "data/transactions.parquet",
            "timestamp": "ts",
            "created": "created_at",
            "ttl_s": 90 * DAY,
            "aggregations": [{"column": "amount", "agg": ["sum", "count", "mean", "max"], "windows": ["7d", "30d", "90d"]}],
        },
        {
            "name": "support_activity",
            "path": "data/tickets.parquet",
            "timestamp": "ts",
            "ttl_s": 90 * DAY,
            "aggregations": [
                {"column": "ticket_id", "agg": ["count"], "windows": ["30d", "90d"]},
                {"column": "severity", "agg": ["mean", "max"], "windows": ["30d"]},
            ],
        },
    ],
}


def write_churn(folder: Path, customers: int) -> dict:
    """projects/churn's conf (no templates) and ``generate_data.py --customers N`` in ``folder``."""
    shutil.copytree(CHURN / "conf", folder / "conf", ignore=shutil.ignore_patterns("*.jinja"))
    argv = [sys.executable, str(CHURN / "generate_data.py"), "--customers", str(customers), "--out", str(folder / "data")]
    subprocess.run(argv, check=True, capture_output=True)
    return _finish(folder, CHURN_CASE, {"customers": customers})


# ------------------------------------------------------------------------------------------ dense
AIRPORTS = ["EWR", "JFK", "LGA"]

DENSE_CASE = {
    "entity": "airport",
    "labels": {"path": "data/labels.parquet", "keys": ["origin"], "timestamp": "label_time", "target": "delayed"},
    "views": [
        {
            "name": "airport_traffic",
            "path": "data/departures.parquet",
            "timestamp": "ts",
            "created": "created_at",
            "ttl_s": 7 * DAY,
            "aggregations": [{"column": "dep_delay", "agg": ["sum", "count", "mean"], "windows": ["1h", "3h", "7d"]}],
        },
        {
            "name": "airport_weather",
            "path": "data/weather.parquet",
            "timestamp": "ts",
            "ttl_s": 3 * 3600,
            "features": {"temp": "float64", "wind_speed": "float64"},
        },
    ],
}

DENSE_CONFIG = """\
defaults:
  - hydraops
  - _self_
  - override features: dense

project: dense
data:
  sources:
    departures: {path: departures.parquet, timestamp: ts, created_timestamp: created_at}
    weather: {path: weather.parquet, timestamp: ts}
    labels: {path: labels.parquet, timestamp: label_time}
"""

DENSE_FEATURES = """\
entities:
  airport: {join_keys: [origin]}
views:
  airport_traffic:
    entity: airport
    source: departures
    ttl: 7d
    aggregations:
      - {column: dep_delay, agg: [sum, count, mean], windows: [1h, 3h, 7d]}
  airport_weather:
    entity: airport
    source: weather
    ttl: 3h
    features:
      temp: {expr: temp}
      wind_speed: {expr: wind_speed}
labels: {source: labels, entity: airport, timestamp: label_time, target: delayed}
"""


def write_dense(folder: Path, events_per_airport: int, seed: int = 0) -> dict:
    """Departures of 3 airports over 2013 at minute resolution (ties included), hourly weather with gaps,
    one label per departure at its own instant."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    minute, hour = 60_000_000, 3_600_000_000
    start, year = 1_356_998_400_000_000, 365 * DAY * 1_000_000  # 2013-01-01 UTC, µs
    ts_type = pa.timestamp("us", tz="UTC")
    dep, weather = [], []
    for code in AIRPORTS:
        ts = start + np.sort(rng.integers(0, year // minute, events_per_airport)) * minute
        created = ts + rng.integers(0, 120, events_per_airport) * minute  # known up to 2 h late
        delay = rng.gamma(0.6, 25.0, events_per_airport) - 5.0
        dep.append(
            pa.table(
                {
                    "origin": pa.array([code] * events_per_airport),
                    "ts": pa.array(ts, type=ts_type),
                    "created_at": pa.array(created, type=ts_type, mask=rng.random(events_per_airport) < 0.01),
                    "dep_delay": pa.array(delay, mask=rng.random(events_per_airport) < 0.03),
                }
            )
        )
        hours = np.arange(start, start + year, hour)
        hours = hours[rng.random(hours.size) >= 0.1]  # gaps: some label instants outlive the 3 h TTL
        n = hours.size
        weather.append(
            pa.table(
                {
                    "origin": pa.array([code] * n),
                    "ts": pa.array(hours, type=ts_type),
                    "temp": pa.array(rng.normal(12.0, 9.0, n)),
                    "wind_speed": pa.array(rng.gamma(2.0, 5.0, n), mask=rng.random(n) < 0.02),
                }
            )
        )
    departures = pa.concat_tables(dep)
    data = folder / "data"
    data.mkdir(parents=True)
    pq.write_table(departures, data / "departures.parquet")
    pq.write_table(pa.concat_tables(weather), data / "weather.parquet")
    delayed = np.nan_to_num(departures["dep_delay"].to_numpy(zero_copy_only=False), nan=0.0) > 15
    pq.write_table(
        pa.table({"origin": departures["origin"], "label_time": departures["ts"], "delayed": pa.array(delayed.astype("int64"))}), data / "labels.parquet"
    )
    conf = folder / "conf"
    (conf / "features").mkdir(parents=True)
    (conf / "config.yaml").write_text(DENSE_CONFIG)
    (conf / "features" / "dense.yaml").write_text(DENSE_FEATURES)
    return _finish(folder, DENSE_CASE, {"airports": len(AIRPORTS), "events_per_airport": events_per_airport})


def _finish(folder: Path, case: dict, size: dict) -> dict:
    """Row counts of the sources, and ``case.json`` written for the children."""
    import pyarrow.parquet as pq

    paths = {"labels": case["labels"]["path"], **{v["name"]: v["path"] for v in case["views"]}}
    rows = {name: pq.ParquetFile(folder / path).metadata.num_rows for name, path in paths.items()}
    full = {**case, "size": size, "rows": rows}
    (folder / "case.json").write_text(json.dumps(full, indent=2))
    return full
