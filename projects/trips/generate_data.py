"""Seeded synthetic data for the trips example project: taxi-like trips in a small city.

Zones sit on a grid. Every hour each zone has a *demand index* (a daily and weekly rhythm times a slowly
wandering zone level, pushed up by rain) and rainfall (city-wide showers, heavier in some zones). Trips are
picked up in proportion to demand; each goes to a nearby zone more often than a far one. A driver takes
one trip at a time (the next pickup comes after the last dropoff), so at any pickup every earlier trip of
that driver is finished. The trip's duration grows with its distance and passengers and is slowed by
congestion (demand), rain, the vehicle and the driver's own pace (known only through their past trips);
the fare follows distance and duration, with a surge when demand is high.

Tables (``--format parquet`` or ``csv``, timestamps UTC):

- ``trips``: one row per trip, the labels too (target ``duration_min``);
- ``zone_conditions``: per zone and hour, stamped ``ts`` at the end of the hour it measures and published
  5 to 90 minutes later (``published_at``), so the latest row is often not known yet at a pickup;
- ``drivers``: a static table, no timestamp: vehicle type and years licensed.

Run from ``projects/trips``::

    python generate_data.py                            # 20 zones, 300 drivers, ~30,000 trips -> data/
    python generate_data.py --trips 300000 --drivers 2000 --months 6

Equal arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

LAST_MONTH = np.datetime64("2025-12", "M")  # the window ends 2025-12-31 23:59:59 UTC
SEC = 1_000_000  # timestamps are int64 microseconds since the epoch
MINUTE = 60 * SEC
HOUR = 3600 * SEC
GRID_KM = 2.0  # distance between neighbouring zone centres

VEHICLES, VEHICLE_P = ["sedan", "suv", "van", "electric"], [0.5, 0.2, 0.1, 0.2]
VEHICLE_PACE = np.array([1.0, 1.04, 1.12, 0.97])  # > 1: slower
DIURNAL = np.array([0.3, 0.2, 0.15, 0.12, 0.15, 0.3, 0.7, 1.3, 1.6, 1.2, 1.0, 1.0, 1.1, 1.0, 1.0, 1.1, 1.3, 1.6, 1.7, 1.4, 1.2, 1.0, 0.8, 0.5])
WEEKDAY = np.array([1.0, 1.0, 1.0, 1.05, 1.2, 1.15, 0.85])  # Monday first
BASE_SPEED_KMH = 32.0

TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "trips": pa.schema(
        [
            ("trip_id", pa.int64()),
            ("driver_id", pa.int64()),
            ("pickup_zone", pa.int64()),
            ("dropoff_zone", pa.int64()),
            ("pickup_ts", TS),
            ("distance_km", pa.float64()),
            ("passengers", pa.int64()),
            ("fare", pa.float64()),
            ("duration_min", pa.float64()),
        ]
    ),
    "zone_conditions": pa.schema([("pickup_zone", pa.int64()), ("ts", TS), ("published_at", TS), ("demand_index", pa.float64()), ("rain_mm", pa.float64())]),
    "drivers": pa.schema([("driver_id", pa.int64()), ("vehicle_type", pa.string()), ("years_licensed", pa.int64())]),
}


def period(months: int) -> tuple[int, int]:
    """Start and end (exclusive) of the simulated window, in us: ``months`` whole months ending with 2025-12."""
    bounds = np.array([LAST_MONTH - months + 1, LAST_MONTH + 1]).astype("datetime64[us]").astype(np.int64)
    return int(bounds[0]), int(bounds[1])


def _table(name: str, columns: list) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema)], schema=schema)


def _zone_grid(zones: int) -> np.ndarray:
    """(zones, 2) centres in km on a near-square grid."""
    width = int(np.ceil(np.sqrt(zones)))
    index = np.arange(zones)
    return np.stack([index % width, index // width], axis=1) * GRID_KM


def _conditions(rng, zones: int, start: int, hours: int) -> tuple[np.ndarray, np.ndarray]:
    """Hourly (hours, zones) demand index and rainfall (mm) for the hours starting at ``start``."""
    hour_of_day = (np.arange(hours) + (start // HOUR) % 24) % 24
    weekday = ((start // HOUR + np.arange(hours)) // 24 + 3) % 7  # 1970-01-01 was a Thursday
    # City-wide showers: a two-state Markov chain, about one wet hour in eight, each zone wetter or drier.
    wet = np.zeros(hours, bool)
    for h in range(1, hours):
        wet[h] = rng.random() < (0.8 if wet[h - 1] else 0.02)
    wetness = rng.lognormal(0, 0.3, zones)
    rain = np.where(wet[:, None], rng.gamma(1.5, 1.5, (hours, zones)) * wetness, 0.0)
    rain = np.round(np.where(rain < 0.1, 0.0, rain), 1)
    # Each zone's level wanders slowly (AR(1) on log scale, ~2 days memory) around its own base.
    base = rng.lognormal(0, 0.5, zones)
    level = np.empty((hours, zones))
    level[0] = rng.normal(0, 0.2, zones)
    noise = rng.normal(0, 0.2 * np.sqrt(1 - 0.98**2), (hours, zones))
    for h in range(1, hours):
        level[h] = 0.98 * level[h - 1] + noise[h]
    demand = base * np.exp(level) * DIURNAL[hour_of_day][:, None] * WEEKDAY[weekday][:, None] * (1 + 0.08 * np.minimum(rain, 10))
    return np.round(demand, 3), rain


def _assign_drivers(rng, pickup: np.ndarray, minutes: np.ndarray, activity: np.ndarray, pace: np.ndarray):
    """One driver per trip (trips in pickup order) among those free at its pickup, weighted by activity.

    Returns the driver index per trip and the trip's duration in minutes (``minutes`` times the driver's
    pace), or -1 for a trip no driver was free for (it is dropped)."""
    free_at = np.full(activity.size, np.iinfo(np.int64).min)
    driver = np.full(pickup.size, -1)
    duration = np.zeros(pickup.size)
    draws = rng.random(pickup.size)
    for i, t in enumerate(pickup):
        weights = np.cumsum(np.where(free_at <= t, activity, 0.0))
        if weights[-1] == 0:
            continue
        d = min(int(np.searchsorted(weights, draws[i] * weights[-1], side="right")), activity.size - 1)
        driver[i], duration[i] = d, minutes[i] * pace[d]
        free_at[d] = t + int(duration[i] * MINUTE) + SEC
    return driver, duration


def generate(out_dir, zones: int = 20, drivers: int = 300, trips: int = 30_000, months: int = 3, seed: int = 42, fmt: str = "parquet") -> dict[str, int]:
    """Write ``trips``/``zone_conditions``/``drivers`` files (about ``trips`` trips); return row counts."""
    if zones < 2 or drivers < 1 or trips < 1 or months < 1 or seed < 0:
        raise ValueError("zones must be >= 2, drivers, trips and months >= 1, and seed >= 0")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}")
    rng = np.random.default_rng(seed)
    start, end = period(months)
    hours = (end - start) // HOUR
    demand, rain = _conditions(rng, zones, start, hours)

    # Drivers: a vehicle, years licensed, how busy they are and their own (hidden) pace.
    vehicle = rng.choice(len(VEHICLES), size=drivers, p=VEHICLE_P)
    years = np.clip(np.rint(rng.gamma(2.5, 4.5, drivers)), 0, 45).astype(np.int64)
    activity = rng.lognormal(0, 0.6, drivers)
    pace = VEHICLE_PACE[vehicle] * rng.lognormal(0, 0.12, drivers) * (1.1 - 0.1 * np.minimum(years, 20) / 20)

    # Pickups: Poisson per zone and hour in proportion to demand, uniform within the hour, whole seconds.
    counts = rng.poisson(trips * demand / demand.sum())
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    hour, zone = np.divmod(cell, zones)
    pickup = start + hour * HOUR + (rng.random(cell.size) * HOUR).astype(np.int64)
    pickup -= pickup % SEC
    order = np.argsort(pickup, kind="stable")
    hour, zone, pickup = hour[order], zone[order], pickup[order]

    # Where to: nearby zones more often; the road distance is longer than the straight line.
    centres = _zone_grid(zones)
    apart = np.linalg.norm(centres[:, None] - centres[None, :], axis=2)
    reach = np.exp(-apart / 4.0)
    reach /= reach.sum(1, keepdims=True)
    dropoff = (rng.random(pickup.size)[:, None] > np.cumsum(reach[zone], axis=1)).sum(1)
    dropoff = np.minimum(dropoff, zones - 1)
    distance = np.round(np.maximum(1.3 * apart[zone, dropoff] + rng.gamma(2.0, 0.8, pickup.size), 0.3), 2)
    passengers = 1 + rng.binomial(3, 0.18, pickup.size)

    # Minutes for an average driver: boarding, then the distance at a speed cut by congestion and rain.
    congestion = 1 + 0.25 * np.log1p(demand[hour, zone])
    wet = 1 + 0.03 * np.minimum(rain[hour, zone], 10)
    minutes = 1.5 + 0.6 * passengers + 60 * distance / BASE_SPEED_KMH * congestion * wet * rng.lognormal(0, 0.12, pickup.size)
    driver, duration = _assign_drivers(rng, pickup, minutes, activity, pace)
    kept = driver >= 0
    driver, duration, zone, dropoff, pickup, hour = driver[kept], duration[kept], zone[kept], dropoff[kept], pickup[kept], hour[kept]
    distance, passengers = distance[kept], passengers[kept]
    surge = 1 + 0.3 * np.clip(demand[hour, zone] - 1.5, 0, 2)
    fare = np.round((3.0 + 1.1 * distance + 0.35 * duration) * surge, 2)

    ids = np.arange(1, drivers + 1, dtype=np.int64)
    hour_ends = start + (np.arange(hours) + 1) * HOUR
    published = hour_ends[:, None] + (rng.uniform(5, 90, (hours, zones)) * MINUTE).astype(np.int64)
    published -= published % SEC
    tables = {
        "trips": _table(
            "trips",
            [np.arange(1, pickup.size + 1), ids[driver], zone + 1, dropoff + 1, pickup, distance, passengers, fare, np.round(duration, 2)],
        ),
        "zone_conditions": _table(
            "zone_conditions",
            [np.tile(np.arange(1, zones + 1), hours), np.repeat(hour_ends, zones), published.ravel(), demand.ravel(), rain.ravel()],
        ),
        "drivers": _table("drivers", [ids, pa.array(VEHICLES).take(pa.array(vehicle.astype(np.int32))), years]),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        path = str(out / f"{name}.{fmt}")
        pq.write_table(table, path) if fmt == "parquet" else pacsv.write_csv(table, path)
    return {name: table.num_rows for name, table in tables.items()}


def main(argv: list[str] | None = None) -> dict[str, int]:
    """Command-line entry point; returns the row counts per table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=20, help="number of pickup/dropoff zones (default 20)")
    parser.add_argument("--drivers", type=int, default=300, help="number of drivers (default 300)")
    parser.add_argument("--trips", type=int, default=30_000, help="expected number of trips (default 30000)")
    parser.add_argument("--months", type=int, default=3, help="months of trips ending 2025-12-31 (default 3)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--out", default="data", help="output directory (default ./data)")
    parser.add_argument("--format", dest="fmt", choices=["parquet", "csv"], default="parquet")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows = generate(args.out, args.zones, args.drivers, args.trips, args.months, args.seed, args.fmt)
    for name, count in rows.items():
        print(f"{name:<16}{count:>11,} rows  -> {Path(args.out) / f'{name}.{args.fmt}'}")
    print(f"done in {time.perf_counter() - started:.2f}s")
    return rows


if __name__ == "__main__":
    main()
