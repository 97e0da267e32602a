"""The declared value checks, run in DuckDB (hydraops.features.validation): pandera's check names, nulls and
NaN as pandera treats them, the first failing values in source order, one check per source and run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hydraops.config.schemas.data import (
    ColumnSpec,
    DataSpec,
    Dtype,
    EntitySpec,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    FileFormat,
    LabelsSpec,
    SourceSpec,
    ValidationMode,
    ValueChecks,
)
from hydraops.errors import DataError
from hydraops.features import FeatureRepo, materialize
from hydraops.features.historical import build_training_table
from hydraops.features.offline import current_manifest
from hydraops.features.validation import check_relation

NAN = float("nan")


def failures(frame: pd.DataFrame, checks: dict[str, ValueChecks]) -> dict[tuple[str, str], tuple[int, tuple[str, ...]]]:
    con = duckdb.connect()
    con.register("rows", frame)
    found = check_relation(con, "(SELECT *, row_number() OVER () AS __seq FROM rows)", checks, order="__seq")
    return {(f.column, f.check): (f.count, f.examples) for f in found}


def test_each_check_counts_its_failures_and_quotes_the_first_in_source_order() -> None:
    frame = pd.DataFrame(
        {
            "amount": [5.0, -1.0, None, NAN, 120.0, -3.0, -2.0, -7.0, -9.0, -4.0, 50.0],
            "plan": ["basic", "gold", "basic", None, "basic", "basic", "basic", "basic", "basic", "basic", "silver"],
            "id": [1, 2, 3, 3, 4, 5, 6, 7, 8, 8, 8],
        }
    )
    checks = {
        "amount": ValueChecks(nullable=False, ge=0.0, le=100.0),
        "plan": ValueChecks(isin=["basic", "premium"]),
        "id": ColumnSpec(dtype=Dtype.int64, unique=True),
    }
    assert failures(frame, checks) == {
        ("amount", "not_nullable"): (2, ("null", "null")),  # NaN is null, as pandera has it
        ("amount", "greater_than_or_equal_to(0.0)"): (6, ("-1.0", "-3.0", "-2.0", "-7.0", "-9.0")),  # nulls skipped
        ("amount", "less_than_or_equal_to(100.0)"): (1, ("120.0",)),
        ("plan", "isin(['basic', 'premium'])"): (2, ("'gold'", "'silver'")),  # a null is not a value
        ("id", "unique"): (3, ()),
    }


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([-3, 7, 7, None, 2, -3, 7], "Int8"),  # a narrow range: counted through a bitmap of it
        ([3, 2**32 - 1, 2**32 - 1, None, 2, 3, 2**32 - 1], "UInt32"),  # too wide for a bitmap: hashed
        ([-(10**15), 10**15, 10**15, None, 2, -(10**15), 10**15], "Int64"),
    ],
)
def test_unique_counts_repeated_values_over_narrow_and_wide_integer_ranges(values: list, dtype: str) -> None:
    frame = pd.DataFrame({"id": pd.array(values, dtype=dtype)})
    assert failures(frame, {"id": ColumnSpec(dtype=Dtype.int64, unique=True)}) == {("id", "unique"): (3, ())}
    assert failures(frame.dropna().drop_duplicates(), {"id": ColumnSpec(dtype=Dtype.int64, unique=True)}) == {}
    assert failures(frame.iloc[3:4], {"id": ColumnSpec(dtype=Dtype.int64, unique=True)}) == {}  # only a null


def test_passing_values_and_no_checks_fail_nothing() -> None:
    frame = pd.DataFrame({"x": [1, 2, None], "flag": [True, False, True]})
    assert failures(frame, {"x": ValueChecks(ge=1.0, le=2.0), "flag": ValueChecks(nullable=False, isin=[True, False])}) == {}
    assert failures(frame, {}) == {}


def test_a_check_that_cannot_run_names_its_key() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'abc' AS word")
    with pytest.raises(DataError, match=r"the checks of data.sources.t.columns cannot be run: Binder Error: Cannot compare"):
        check_relation(con, "t", {"word": ValueChecks(ge=1.0)}, key="data.sources.t.columns")


@pytest.fixture
def repo(tmp_path: Path) -> FeatureRepo:
    return make_repo(tmp_path)


def make_repo(tmp_path: Path) -> FeatureRepo:
    """One source read by two views (one value fails its check), labels, warn mode."""
    data = tmp_path / "data"
    data.mkdir()
    signup = pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True)
    pd.DataFrame({"customer_id": [1, 2, 3], "signup": signup, "age": [30, 140, 50]}).to_parquet(data / "customers.parquet")
    pd.DataFrame({"customer_id": [1, 2, 3], "label_time": signup + pd.Timedelta(days=30), "churned": [0, 1, 0]}).to_parquet(data / "labels.parquet")
    sources = {
        "customers": SourceSpec(path="customers.parquet", timestamp="signup", columns={"age": ColumnSpec(dtype=Dtype.int64, le=90.0)}),
        "labels": SourceSpec(path="labels.parquet", timestamp="label_time", columns={"churned": ColumnSpec(dtype=Dtype.int64, isin=[0, 1])}),
    }
    views = {
        "profile": FeatureViewSpec(entity="customer", source="customers", features={"age": FeatureSpec(expr="age")}),
        "decade": FeatureViewSpec(entity="customer", source="customers", features={"decade": FeatureSpec(expr="age // 10")}),
    }
    features = FeaturesSpec(
        entities={"customer": EntitySpec(join_keys=["customer_id"])},
        views=views,
        labels=LabelsSpec(source="labels", entity="customer", timestamp="label_time", target="churned"),
        validation=ValidationMode.warn,
    )
    return FeatureRepo(features, DataSpec(format=FileFormat.parquet, dir=str(data), sources=sources), tmp_path / "offline")


def test_a_source_two_views_read_is_checked_once_and_warned_by_both(repo: FeatureRepo, tmp_path: Path) -> None:
    report = materialize(repo)
    warning = "source 'customers': column 'age' failed less_than_or_equal_to(90.0) on 1 value(s), e.g. 140"
    assert [v.warnings for v in report.views] == [(warning,), (warning,)]
    assert [state[0] for state in repo.checked] == ["customers"]
    table = build_training_table(repo, str(tmp_path / "table.parquet"))
    assert table.rows == 3 and table.warnings == ()
    assert sorted(state[0] for state in repo.checked) == ["customers", "labels"]
    (Path(repo.data.dir) / "customers.parquet").unlink()
    pd.DataFrame({"customer_id": [1], "signup": pd.to_datetime(["2025-01-01"], utc=True), "age": [30]}).to_parquet(Path(repo.data.dir) / "customers.parquet")
    [profile] = materialize(repo, views=["profile"]).views
    assert profile.warnings == (), "a changed file is checked again"


def test_a_training_table_overwrites_its_file(repo: FeatureRepo, tmp_path: Path) -> None:
    materialize(repo)
    out = tmp_path / "table.parquet"
    first = build_training_table(repo, str(out))
    again = build_training_table(repo, str(out))
    assert first.rows == again.rows == 3 and pd.read_parquet(out).shape == (3, 5)
    assert current_manifest(repo.offline_dir, "profile").warnings


def test_materialize_and_training_table_import_no_pandera(tmp_path: Path) -> None:
    script = f"""
import json, sys
from pathlib import Path
from hydraops.config.schemas.data import *
from hydraops.features import FeatureRepo, materialize
from hydraops.features.historical import build_training_table
sys.path.insert(0, {str(Path(__file__).parents[2])!r})
from tests.features.test_validation import make_repo
repo = make_repo(Path({str(tmp_path / "sub")!r}))
materialize(repo)
build_training_table(repo, {str(tmp_path / "sub" / "t.parquet")!r})
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pandera")))
"""
    (tmp_path / "sub").mkdir()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
