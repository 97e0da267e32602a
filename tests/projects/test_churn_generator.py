"""Tests for the churn example's synthetic data generator (projects/churn/generate_data.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2] / "projects" / "churn"
SCRIPT = PROJECT_DIR / "generate_data.py"
TABLES = ("customers", "transactions", "tickets", "labels")
DRIFT_DATE = "2025-07-01"
DRIFT_TS = pd.Timestamp(DRIFT_DATE, tz="UTC")
WINDOW_START = pd.Timestamp("2025-01-01", tz="UTC")
WINDOW_END = pd.Timestamp("2026-01-01", tz="UTC")
TS = pa.timestamp("us", tz="UTC")
EXPECTED_SCHEMAS = {
    "customers": pa.schema([("customer_id", pa.int64()), ("signup_date", TS), ("plan", pa.string()), ("region", pa.string()), ("age", pa.int64())]),
    "transactions": pa.schema(
        [("transaction_id", pa.int64()), ("customer_id", pa.int64()), ("ts", TS), ("created_at", TS), ("amount", pa.float64()), ("channel", pa.string())]
    ),
    "tickets": pa.schema([("ticket_id", pa.int64()), ("customer_id", pa.int64()), ("ts", TS), ("category", pa.string()), ("severity", pa.int64())]),
    "labels": pa.schema([("customer_id", pa.int64()), ("label_time", TS), ("churned", pa.int64())]),
}


def _load_generator():
    spec = importlib.util.spec_from_file_location("churn_generate_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    out = tmp_path_factory.mktemp("base")
    rows = gen.generate(out, customers=2000, months=12, seed=7)
    return out, rows, _read(out)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    out = tmp_path_factory.mktemp("drift")
    gen.generate(out, customers=2000, months=12, seed=7, drift_after=DRIFT_DATE)
    return out, _read(out)


def _window_features(data: dict[str, pd.DataFrame], days: int) -> pd.DataFrame:
    """Per label row: spend, transaction count and ticket count in (label_time - days, label_time]."""
    labels = data["labels"]
    out = labels.copy()
    for name, value in (("transactions", "amount"), ("tickets", None)):
        events = labels.merge(data[name][["customer_id", "ts"] + ([value] if value else [])], on="customer_id")
        events = events[(events.ts <= events.label_time) & (events.ts > events.label_time - pd.Timedelta(days=days))]
        grouped = events.groupby(["customer_id", "label_time"])
        if value:
            out = out.merge(grouped[value].sum().rename("spend").reset_index(), how="left")
            out = out.merge(grouped.size().rename("n_tx").reset_index(), how="left")
        else:
            out = out.merge(grouped.size().rename("n_tickets").reset_index(), how="left")
    return out.fillna({"spend": 0.0, "n_tx": 0, "n_tickets": 0})


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        gen.generate(tmp_path / name, customers=1000, months=12, seed=seed)
    for table in TABLES:
        file = f"{table}.parquet"
        assert _sha256(tmp_path / "a" / file) == _sha256(tmp_path / "b" / file), table
        assert _sha256(tmp_path / "a" / file) != _sha256(tmp_path / "c" / file), table


def test_schemas_and_row_counts(base):
    out, rows, _ = base
    assert set(rows) == set(TABLES)
    for name in TABLES:
        meta = pq.ParquetFile(out / f"{name}.parquet")
        assert meta.schema_arrow.remove_metadata().equals(EXPECTED_SCHEMAS[name]), name
        assert meta.metadata.num_rows == rows[name] > 0
    assert rows["customers"] == 2000


def test_ids_keys_and_value_ranges(base):
    _, _, d = base
    cust, tx, tk, lab = d["customers"], d["transactions"], d["tickets"], d["labels"]
    assert cust.customer_id.is_unique and tx.transaction_id.is_unique and tk.ticket_id.is_unique
    assert not lab.duplicated(["customer_id", "label_time"]).any()
    for frame in (tx, tk, lab):
        assert frame.customer_id.isin(cust.customer_id).all()
    assert (tx.transaction_id.to_numpy() == np.arange(1, len(tx) + 1)).all()

    assert set(cust.plan) == {"basic", "standard", "premium"}
    assert set(cust.region) == {"north", "south", "east", "west"}
    assert cust.age.between(18, 90).all()
    assert (cust.signup_date < WINDOW_START).any() and (cust.signup_date >= WINDOW_START).any()
    assert set(tx.channel) == {"web", "app", "store"}
    assert set(tk.category) == {"billing", "technical", "cancel_request"}
    assert tk.severity.between(1, 3).all()
    assert (tx.amount > 0).all()
    delay = tx.created_at - tx.ts
    assert (delay >= pd.Timedelta(0)).all() and (delay <= pd.Timedelta(hours=6)).all()
    assert delay.max() > pd.Timedelta(minutes=30)

    for frame in (tx, tk):
        assert frame.ts.between(WINDOW_START, WINDOW_END, inclusive="left").all()
        signup = frame.customer_id.map(cust.set_index("customer_id").signup_date)
        assert (frame.ts >= signup).all()
    month_end = lab.label_time + pd.Timedelta(seconds=1)
    assert (month_end.dt.day == 1).all() and (month_end.dt.hour == 0).all()
    assert lab.label_time.nunique() == 12


def test_nothing_after_churn(base):
    _, _, d = base
    lab = d["labels"]
    first_churn = lab[lab.churned == 1].groupby("customer_id").label_time.min()
    assert len(first_churn) > 0
    deadline = first_churn + pd.Timedelta(days=30)
    for name, col in (("transactions", "ts"), ("tickets", "ts"), ("labels", "label_time")):
        frame = d[name][d[name].customer_id.isin(deadline.index)]
        assert (frame[col] <= frame.customer_id.map(deadline)).all(), name
    # Any label after the first positive one (a churn date in the next month) is positive too.
    later = lab[lab.label_time > lab.customer_id.map(first_churn)]
    assert (later.churned == 1).all()


def test_monthly_churn_rate_is_sane(base):
    _, _, d = base
    monthly = d["labels"].groupby("label_time").churned.mean()
    assert monthly.between(0.01, 0.12).all(), monthly
    assert 0.03 <= d["labels"].churned.mean() <= 0.08


def test_history_predicts_churn(base):
    _, _, d = base
    f30 = _window_features(d, 30)
    f90 = _window_features(d, 90)
    by_label = f30.groupby("churned")[["spend", "n_tx", "n_tickets"]].mean()
    assert by_label.spend[1] < 0.7 * by_label.spend[0]
    assert by_label.n_tx[1] < 0.7 * by_label.n_tx[0]
    assert by_label.n_tickets[1] > 1.5 * by_label.n_tickets[0]
    # Recent activity relative to the longer window drops for churners.
    trend = f30.n_tx / (f90.n_tx / 3 + 1)
    assert trend[f30.churned == 1].mean() < trend[f30.churned == 0].mean()
    # Cheaper plans churn more.
    plan = d["labels"].merge(d["customers"], on="customer_id").groupby("plan").churned.mean()
    assert plan["basic"] > plan["premium"]


def test_drift_after_date(base, drifted):
    _, _, plain = base
    _, drift = drifted

    def before_after(tx):
        pre, post = tx[tx.ts < DRIFT_TS], tx[tx.ts >= DRIFT_TS]
        app = (post.channel == "app").mean() - (pre.channel == "app").mean()
        return post.amount.mean() / pre.amount.mean(), app

    ratio, app_shift = before_after(drift["transactions"])
    assert ratio > 1.2 and app_shift > 0.15
    ratio, app_shift = before_after(plain["transactions"])
    assert 0.9 < ratio < 1.1 and abs(app_shift) < 0.03

    # The ticket signal weakens after the drift date but not without drift.
    def ticket_lift(data):
        f = _window_features(data, 30)
        post = f.label_time > DRIFT_TS + pd.Timedelta(days=30)

        def lift(part):
            return part[part.churned == 1].n_tickets.mean() / part[part.churned == 0].n_tickets.mean()

        return lift(f[~post]), lift(f[post])

    pre_lift, post_lift = ticket_lift(drift)
    assert post_lift < 0.7 * pre_lift
    pre_lift, post_lift = ticket_lift(plain)
    assert post_lift > 0.7 * pre_lift

    # Drift changes only data after the date.
    for name in ("customers", "labels"):
        pd.testing.assert_frame_equal(plain[name], drift[name])

    def early(tx):
        return tx[tx.ts < DRIFT_TS].reset_index(drop=True)

    pd.testing.assert_frame_equal(early(plain["transactions"]), early(drift["transactions"]))


def test_small_chunks_keep_ids_unique_and_contiguous(tmp_path, monkeypatch):
    monkeypatch.setattr(gen, "CHUNK_SIZE", 300)
    rows = gen.generate(tmp_path, customers=1000, months=6, seed=3)
    d = _read(tmp_path)
    assert (d["customers"].customer_id.to_numpy() == np.arange(1, 1001)).all()
    assert (d["transactions"].transaction_id.to_numpy() == np.arange(1, rows["transactions"] + 1)).all()
    assert (d["tickets"].ticket_id.to_numpy() == np.arange(1, rows["tickets"] + 1)).all()
    assert d["labels"].label_time.nunique() == 6
    assert d["labels"].label_time.min() == pd.Timestamp("2025-07-31 23:59:59", tz="UTC")


def test_csv_format_matches_parquet(tmp_path):
    rows = gen.generate(tmp_path / "csv", customers=1000, months=12, seed=5, fmt="csv")
    gen.generate(tmp_path / "pq", customers=1000, months=12, seed=5)
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    for name in TABLES:
        schema = EXPECTED_SCHEMAS[name]
        table = pacsv.read_csv(tmp_path / "csv" / f"{name}.csv", convert_options=pacsv.ConvertOptions(column_types=schema))
        assert table.num_rows == rows[name]
        assert table.equals(pq.read_table(tmp_path / "pq" / f"{name}.parquet").replace_schema_metadata())
    first = (tmp_path / "csv" / "labels.csv").read_text().splitlines()[1]
    assert "2025-01-31 23:59:59" in first and first.split(",")[1].endswith("Z")


def test_cli_subprocess(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "generate_data.py", "--customers", "1000", "--out", str(out)], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    for name, line in zip(TABLES, lines):
        assert line.startswith(name) and "rows" in line
    assert lines[-1].startswith("done in")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)


def test_main_defaults_to_data_dir_and_validates(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rows = gen.main(["--customers", "1000", "--months", "3", "--drift-after", "2025-11-15"])
    assert rows["customers"] == 1000
    assert all((tmp_path / "data" / f"{t}.parquet").exists() for t in TABLES)
    assert "done in" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        gen.main(["--drift-after", "2025-13-01"])
    with pytest.raises(SystemExit):
        gen.main(["--format", "json"])
    with pytest.raises(ValueError):
        gen.generate(tmp_path, customers=0, months=12, seed=1)


def test_last_month_moves_the_window_and_previous_is_the_month_before_this_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gen.main(["--customers", "300", "--months", "2", "--last-month", "2026-03"])
    labels = pd.read_parquet(tmp_path / "data" / "labels.parquet")
    assert sorted(labels.label_time.unique()) == [pd.Timestamp("2026-02-28 23:59:59", tz="UTC"), pd.Timestamp("2026-03-31 23:59:59", tz="UTC")]
    assert pd.read_parquet(tmp_path / "data" / "transactions.parquet").ts.max() < pd.Timestamp("2026-04-01", tz="UTC")
    this_month = pd.Timestamp.now(tz="UTC").to_period("M")
    assert gen._month("previous") == str(this_month - 1)
    with pytest.raises(SystemExit):
        gen.main(["--last-month", "2026-13"])
