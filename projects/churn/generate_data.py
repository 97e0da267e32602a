"""Seeded synthetic data for the churn example project.

Every customer carries a latent *disengagement* score that evolves month by
month (an AR(1) process).  High disengagement lowers purchase frequency and
spend, raises support tickets and raises the monthly churn hazard; on top of
that, activity fades and tickets (notably cancel requests) pile up in the six
weeks before a customer leaves.  Time-window features over transactions and
tickets, plus tenure and plan, therefore predict the labels.  With
``--drift-after`` the later data drifts: amounts scale up, the channel mix
moves to the app and tickets stop tracking disengagement and churn.

Run from ``projects/churn``::

    python generate_data.py                            # 5,000 customers -> data/
    python generate_data.py --customers 1000000 --drift-after 2025-09-01
    python generate_data.py --last-month previous      # the window ends with last month: fresh online values
    python generate_data.py --last-month previous --drift-after last-month   # the same, its last month drifted

Customers are simulated in fixed-size chunks, each with its own RNG
(``default_rng([seed, chunk])``), and streamed to one file per table, so memory
stays bounded and equal arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CHUNK_SIZE = 20_000
LAST_MONTH = np.datetime64("2025-12", "M")  # the window ends 2025-12-31 23:59:59 UTC
SEC = 1_000_000  # timestamps are int64 microseconds since the epoch
DAY = 86_400 * SEC
MONTH = 30.44 * DAY
LABEL_HORIZON = 30 * DAY  # churned = leaves within 30 days of label_time
RAMP = 42 * DAY  # activity fades over the last six weeks before churn
NEVER = np.iinfo(np.int64).max

PLANS, PLAN_P = ["basic", "standard", "premium"], [0.5, 0.33, 0.17]
PLAN_TX_PER_MONTH = np.array([4.0, 6.0, 9.0])
PLAN_AMOUNT = np.array([25.0, 45.0, 80.0])
PLAN_CHURN_LOGIT = np.array([0.3, 0.0, -0.5])
REGIONS, REGION_P = ["north", "south", "east", "west"], [0.3, 0.25, 0.25, 0.2]
CHANNELS = ["web", "app", "store"]
CHANNEL_MIX = np.array([0.45, 0.35, 0.20])
DRIFT_CHANNEL_MIX = np.array([0.15, 0.75, 0.10])
CHANNEL_AMOUNT = np.array([1.0, 0.9, 1.25])
CATEGORIES = ["billing", "technical", "cancel_request"]

RHO = 0.85  # month-to-month persistence of disengagement
CHURN_BASE_LOGIT = -3.5
TICKETS_PER_MONTH = 0.04  # baseline for a fully engaged customer
MEAN_TICKET_PROPENSITY = 0.35
DRIFT_AMOUNT = 1.3
DRIFT_TICKET_COUPLING = 0.2  # share of the ticket <-> churn link kept after drift

TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "customers": pa.schema([("customer_id", pa.int64()), ("signup_date", TS), ("plan", pa.string()), ("region", pa.string()), ("age", pa.int64())]),
    "transactions": pa.schema(
        [("transaction_id", pa.int64()), ("customer_id", pa.int64()), ("ts", TS), ("created_at", TS), ("amount", pa.float64()), ("channel", pa.string())]
    ),
    "tickets": pa.schema([("ticket_id", pa.int64()), ("customer_id", pa.int64()), ("ts", TS), ("category", pa.string()), ("severity", pa.int64())]),
    "labels": pa.schema([("customer_id", pa.int64()), ("label_time", TS), ("churned", pa.int64())]),
}


def month_bounds(months: int, last_month: np.datetime64 = LAST_MONTH) -> np.ndarray:
    """Start of each month in the window ending with ``last_month`` plus the end bound (``months + 1`` values, us)."""
    starts = np.arange(last_month - months + 1, last_month + 2)
    return starts.astype("datetime64[us]").astype(np.int64)


def _to_us(date) -> int:
    return int(np.datetime64(date, "D").astype("datetime64[us]").astype(np.int64))


def _poisson_events(rng, rate, lo, hi):
    """Event times of a Poisson process with constant ``rate`` (per us) on each cell ``[lo, hi)``.

    All arrays are (customers, months); returns customer index, month index and
    whole-second timestamps, customer-major.
    """
    length = np.maximum(hi - lo, 0)
    counts = rng.poisson(rate * length).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    ts = lo.ravel()[cell] + (rng.random(cell.size) * length.ravel()[cell]).astype(np.int64)
    ts -= ts % SEC
    ci, mi = np.divmod(cell, lo.shape[1])
    return ci, mi, ts


def _sorted(ci, *arrays, ts):
    """Order events by customer, then time."""
    order = np.lexsort((ts, ci))
    return (ci[order], *(a[order] for a in arrays), ts[order])


def _strings(values: list[str], codes: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(codes.astype(np.int32)))


def _table(name: str, columns: list) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema)], schema=schema)


@dataclass
class _Cohort:
    """Per-customer state of one chunk; (n, months) arrays are indexed [customer, month]."""

    ids: np.ndarray
    plan: np.ndarray
    z: np.ndarray  # latent disengagement
    churn: np.ndarray  # churn time (us), NEVER if the customer stays
    lo: np.ndarray  # event cells: [max(month start, signup), min(month end, churn))
    hi: np.ndarray
    drift_at: int | None

    def drifted(self, ts: np.ndarray) -> np.ndarray:
        return np.zeros(ts.size, bool) if self.drift_at is None else ts >= self.drift_at

    def closeness_to_churn(self, ci: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """0 until RAMP before churn, rising linearly to 1 at the churn time."""
        return 1 - np.clip((self.churn[ci] - ts) / RAMP, 0, 1)


def _customers_and_labels(rng, first_id, n, bounds, drift_at):
    """Draw customers, their disengagement paths and churn times; build the label rows."""
    months = len(bounds) - 1
    start, end = bounds[0], bounds[-1]
    label_time = bounds[1:] - SEC
    ids = np.arange(first_id + 1, first_id + n + 1, dtype=np.int64)

    # A quarter-ish of the customers sign up during the window, the rest before it.
    plan = rng.choice(3, size=n, p=PLAN_P)
    region = rng.choice(4, size=n, p=REGION_P)
    age = np.clip(np.rint(rng.normal(42, 14, n)), 18, 90).astype(np.int64)
    new = rng.random(n) < months / (months + 36)
    before = start - (1 + np.minimum(rng.exponential(700, n), 3000)) * DAY
    signup = np.where(new, start + rng.random(n) * (end - start - DAY), before).astype(np.int64)
    signup -= signup % SEC

    # Latent disengagement: a stationary N(0, 1) AR(1) process, one value per month.
    z = np.empty((n, months))
    z[:, 0] = rng.standard_normal(n)
    eps = rng.standard_normal((n, months))
    for m in range(1, months):
        z[:, m] = RHO * z[:, m - 1] + np.sqrt(1 - RHO**2) * eps[:, m]

    # At each month end an active customer may decide to leave within the next 30 days.
    tenure = (label_time[None, :] - signup[:, None]) / MONTH
    logit = CHURN_BASE_LOGIT + 1.1 * z + PLAN_CHURN_LOGIT[plan][:, None] + np.exp(-np.clip(tenure, 0, None) / 4) - 0.01 * (age[:, None] - 42)
    hit = (tenure >= 0) & (rng.random((n, months)) < 1 / (1 + np.exp(-logit)))
    offset = (rng.uniform(1 / 24, 30, n) * DAY).astype(np.int64)
    churn = np.where(hit.any(1), label_time[hit.argmax(1)] + offset - offset % SEC, NEVER)

    # One label per month end at which the customer has signed up and not yet left.
    ci, mi = np.nonzero((tenure >= 0) & (churn[:, None] > label_time[None, :]))
    churned = (churn[ci] <= label_time[mi] + LABEL_HORIZON).astype(np.int64)
    tables = {
        "customers": _table("customers", [ids, signup, _strings(PLANS, plan), _strings(REGIONS, region), age]),
        "labels": _table("labels", [ids[ci], label_time[mi], churned]),
    }
    lo = np.maximum(bounds[None, :-1], signup[:, None])
    hi = np.minimum(bounds[None, 1:], churn[:, None])
    return _Cohort(ids, plan, z, churn, lo, hi, drift_at), tables


def _transactions(rng, c: _Cohort, first_id: int) -> pa.Table:
    """Poisson purchases whose rate falls with disengagement and fades before churn."""
    n = c.ids.size
    freq = PLAN_TX_PER_MONTH[c.plan] * rng.lognormal(0, 0.4, n)
    ci, mi, ts = _poisson_events(rng, freq[:, None] * np.exp(-0.5 * c.z) / MONTH, c.lo, c.hi)
    keep = rng.random(ts.size) < np.maximum(1 - c.closeness_to_churn(ci, ts), 0.2)
    ci, mi, ts = _sorted(ci[keep], mi[keep], ts=ts[keep])
    drifted = c.drifted(ts)

    mix = rng.dirichlet(8 * CHANNEL_MIX, n)[ci]  # each customer's channel preference
    mix[drifted] = 0.4 * mix[drifted] + 0.6 * DRIFT_CHANNEL_MIX
    u = rng.random(ts.size)
    channel = (u > mix[:, 0]).astype(np.int8) + (u > mix[:, 0] + mix[:, 1])
    spend = PLAN_AMOUNT[c.plan] * rng.lognormal(0, 0.5, n)
    amount = spend[ci] * np.exp(-0.15 * c.z[ci, mi]) * CHANNEL_AMOUNT[channel] * rng.lognormal(-0.18, 0.6, ts.size) * np.where(drifted, DRIFT_AMOUNT, 1.0)
    delay = np.clip(rng.lognormal(np.log(300), 1.5, ts.size), 1, 6 * 3600).astype(np.int64)
    ids = np.arange(first_id, first_id + ts.size, dtype=np.int64)
    return _table("transactions", [ids, c.ids[ci], ts, ts + delay * SEC, np.maximum(np.round(amount, 2), 0.5), _strings(CHANNELS, channel)])


def _tickets(rng, c: _Cohort, first_id: int) -> pa.Table:
    """Tickets with intensity (1 + 3 s) * (1 + 4 pre): s grows with disengagement, pre near churn.

    After the drift date both links are mostly replaced by population averages.
    """
    s = 1 / (1 + np.exp(-1.5 * (c.z - 0.5)))
    bound = 5 * (1 + 3 * np.maximum(s, MEAN_TICKET_PROPENSITY))  # >= intensity, for thinning
    ci, mi, ts = _poisson_events(rng, TICKETS_PER_MONTH * bound / MONTH, c.lo, c.hi)
    k = np.where(c.drifted(ts), DRIFT_TICKET_COUPLING, 1.0)
    pre = k * c.closeness_to_churn(ci, ts)
    s_eff = k * s[ci, mi] + (1 - k) * MEAN_TICKET_PROPENSITY
    keep = rng.random(ts.size) * bound[ci, mi] < (1 + 3 * s_eff) * (1 + 4 * pre)
    ci, pre, ts = _sorted(ci[keep], pre[keep], ts=ts[keep])

    p_cancel = 0.02 + 0.5 * pre
    u = rng.random(ts.size)
    category = np.where(u < p_cancel, 2, np.where(u < p_cancel + 0.55 * (1 - p_cancel), 0, 1))
    severity = 1 + rng.binomial(2, np.where(category == 2, 0.55, 0.25)).astype(np.int64)
    ids = np.arange(first_id, first_id + ts.size, dtype=np.int64)
    return _table("tickets", [ids, c.ids[ci], ts, _strings(CATEGORIES, category), severity])


def generate(out_dir, customers: int, months: int, seed: int, drift_after=None, fmt: str = "parquet", last_month: str = str(LAST_MONTH)) -> dict[str, int]:
    """Write ``customers``/``transactions``/``tickets``/``labels`` files for the ``months`` ending with
    ``last_month`` (YYYY-MM); return row counts."""
    if customers < 1 or months < 1 or seed < 0:
        raise ValueError("customers and months must be >= 1 and seed >= 0")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}")
    bounds = month_bounds(months, np.datetime64(last_month, "M"))
    if drift_after == LAST:
        drift_after = f"{np.datetime64(last_month, 'M')}-01"
    drift_at = None if drift_after is None else _to_us(drift_after)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer_cls = pq.ParquetWriter if fmt == "parquet" else pacsv.CSVWriter
    writers = {name: writer_cls(str(out / f"{name}.{fmt}"), schema) for name, schema in SCHEMAS.items()}
    rows = dict.fromkeys(SCHEMAS, 0)
    try:
        for chunk, first_id in enumerate(range(0, customers, CHUNK_SIZE)):
            rng = np.random.default_rng([seed, chunk])
            n = min(CHUNK_SIZE, customers - first_id)
            cohort, tables = _customers_and_labels(rng, first_id, n, bounds, drift_at)
            tables["transactions"] = _transactions(rng, cohort, rows["transactions"] + 1)
            tables["tickets"] = _tickets(rng, cohort, rows["tickets"] + 1)
            for name, table in tables.items():
                if table.num_rows:
                    writers[name].write_table(table)
                rows[name] += table.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    return rows


LAST = "last-month"  # --drift-after: the first day of the window's last month


def _date(text: str) -> str:
    if text == LAST:
        return text
    try:
        np.datetime64(text, "D")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD or '{LAST}', got {text!r}") from None
    return text


def _month(text: str) -> str:
    """YYYY-MM, or ``previous``: the month before the current one (UTC)."""
    if text == "previous":
        return str(np.datetime64(time.strftime("%Y-%m", time.gmtime()), "M") - 1)
    try:
        return str(np.datetime64(text, "M"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM or 'previous', got {text!r}") from None


def main(argv: list[str] | None = None) -> dict[str, int]:
    """Command-line entry point; returns the row counts per table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    parser.add_argument("--months", type=int, default=12, help="months of activity (default 12) ending with --last-month")
    parser.add_argument(
        "--last-month", type=_month, default=str(LAST_MONTH), metavar="YYYY-MM", help="the window's last month (default 2025-12; 'previous': last month)"
    )
    parser.add_argument(
        "--drift-after",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="inject drift (spend, channel mix, ticket signal) after this date ('last-month': in the window's last month)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--out", default="data", help="output directory (default ./data)")
    parser.add_argument("--format", dest="fmt", choices=["parquet", "csv"], default="parquet")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows = generate(args.out, args.customers, args.months, args.seed, args.drift_after, args.fmt, args.last_month)
    for name, count in rows.items():
        print(f"{name:<13}{count:>13,} rows  -> {Path(args.out) / f'{name}.{args.fmt}'}")
    print(f"done in {time.perf_counter() - started:.2f}s")
    return rows


if __name__ == "__main__":
    main()
