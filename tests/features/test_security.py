"""The feature store refuses what configs and the Python API must not do (issue 9): run SQL that reads or
writes files (DuckDB is confined to the declared sources and the offline store, so a parser gap is not a
hole), write outside its roots, flood stderr with failing values, render data as markup, pass unchecked labels."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

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
)
from hydraops.errors import DataError, FeatureStoreError
from hydraops.features import FeatureRepo, materialize
from hydraops.features.historical import build_training_table
from tests.conftest import Run

SECRET = "TOP-SECRET-CONTENT"


@pytest.fixture
def repo(tmp_path: Path) -> FeatureRepo:
    """Three customers and their labels (one label null although declared not nullable), a secret file beside
    the data folder, and a view ``profile`` computing ``age`` — the store lives in ``project/offline``."""
    data = tmp_path / "project" / "data"
    data.mkdir(parents=True)
    signup = pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True)
    pd.DataFrame({"customer_id": [1, 2, 3], "signup": signup, "plan": ["basic", "basic", "premium"], "age": [30, 40, 50]}).to_parquet(
        data / "customers.parquet"
    )
    labels = {"customer_id": [1, 2, 3], "label_time": signup + pd.Timedelta(days=30), "churned": pd.array([0, None, 1], dtype="Int64")}
    pd.DataFrame(labels).to_parquet(data / "labels.parquet")
    (tmp_path / "secret.txt").write_text(SECRET)
    sources = {
        "customers": SourceSpec(path="customers.parquet", timestamp="signup", columns={"plan": ColumnSpec(dtype=Dtype.string, isin=["basic", "premium"])}),
        "labels": SourceSpec(path="labels.parquet", timestamp="label_time", columns={"churned": ColumnSpec(dtype=Dtype.int64, nullable=False)}),
    }
    view = FeatureViewSpec(entity="customer", source="customers", features={"age": FeatureSpec(expr="age")})
    features = FeaturesSpec(
        entities={"customer": EntitySpec(join_keys=["customer_id"])},
        views={"profile": view},
        labels=LabelsSpec(source="labels", entity="customer", timestamp="label_time", target="churned"),
    )
    return FeatureRepo(features, DataSpec(format=FileFormat.parquet, dir=str(data), sources=sources), tmp_path / "project" / "offline")


def files_holding(root: Path, text: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and text.encode() in path.read_bytes()]


def set_expr(repo: FeatureRepo, expr: str) -> None:
    repo.features.views["profile"].features["age"].expr = expr


# --- item 5: SQL in feature expressions and query sources -----------------------------------------------


def test_copy_injection_through_the_python_api_writes_no_file(repo: FeatureRepo, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "outside.csv"
    set_expr(repo, f"age) FROM customers; COPY (SELECT 1 AS x) TO '{target}'; SELECT (age")
    with pytest.raises(DataError, match=r"feature 'age' \(features.views.profile.features.age.expr\) is not a single SQL expression"):
        materialize(repo)
    assert not target.exists() and not list(tmp_path.rglob("outside.csv"))


@pytest.mark.parametrize("attack", ["read", "copy"])
def test_duckdb_itself_refuses_files_past_the_parser(repo: FeatureRepo, tmp_path: Path, monkeypatch, attack: str) -> None:
    """With the parser check switched off, the confined DuckDB connection still refuses the file access."""
    import hydraops.features.expressions as expressions

    monkeypatch.setattr(expressions, "expression_problem", lambda *args, **kwargs: None)
    target = tmp_path / "outside.csv"
    if attack == "read":
        set_expr(repo, f"(SELECT content FROM read_text('{tmp_path / 'secret.txt'}'))")
    else:
        set_expr(repo, f"age) FROM customers; COPY (SELECT 1 AS x) TO '{target}'; SELECT (age")
    with pytest.raises(DataError, match=r"does not compile: Permission Error: Cannot access file .* disabled by configuration"):
        materialize(repo)
    assert not target.exists()
    assert files_holding(tmp_path / "project", SECRET) == []


def test_a_query_source_reads_only_the_declared_source_files(repo: FeatureRepo, tmp_path: Path) -> None:
    """A query source may name other sources, not other files: the secret beside the data folder stays unread."""
    secret = tmp_path / "secret.txt"
    repo.data.sources["leaky"] = SourceSpec(query=f"SELECT *, (SELECT content FROM read_text('{secret}')) AS leak FROM customers", timestamp="signup")
    repo.features.views["profile"].source = "leaky"
    with pytest.raises(DataError, match=r"source 'leaky' cannot be read: Permission Error: Cannot access file"):
        materialize(repo)
    assert files_holding(tmp_path / "project", SECRET) == []


def test_training_tables_and_historical_joins_run_confined(repo: FeatureRepo, tmp_path: Path) -> None:
    """The labels' query can reach only declared files and the offline store, and the table lands where asked."""
    repo.features.validation = ValidationMode.warn
    materialize(repo)
    repo.data.sources["labels"].columns = {}
    out = tmp_path / "project" / "train.parquet"
    table = build_training_table(repo, str(out))
    assert table.rows == 3 and out.exists()
    repo.data.sources["labels"] = SourceSpec(
        query=f"SELECT *, (SELECT content FROM read_text('{tmp_path / 'secret.txt'}')) AS c FROM customers", timestamp="signup"
    )
    with pytest.raises(DataError, match="Permission Error"):
        build_training_table(repo, str(tmp_path / "project" / "again.parquet"))


# --- item 6: paths the feature store writes stay under their root ---------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "ABSOLUTE"])
def test_a_view_name_cannot_lead_outside_the_offline_store(repo: FeatureRepo, tmp_path: Path, name: str) -> None:
    name = str(tmp_path / "absolute_view") if name == "ABSOLUTE" else name
    repo.features.views[name] = repo.features.views.pop("profile")
    with pytest.raises(FeatureStoreError, match=rf"feature view '{name}' .*: path .* is outside .*offline; refusing to write there"):
        materialize(repo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "secret.txt"]
    assert not (tmp_path / "project" / "offline").exists()


def test_a_source_path_cannot_leave_the_data_folder(repo: FeatureRepo) -> None:
    repo.data.sources["customers"].path = "../../secret.txt"
    with pytest.raises(DataError, match=r"source 'customers': .*secret.txt is outside data.dir .* \(data.sources.customers.path\)"):
        materialize(repo)


@pytest.mark.slow
def test_training_table_out_must_stay_in_the_project(churn: Path, hydraops: Run) -> None:
    for out in ("../elsewhere.parquet", str(churn.parent / "abs.parquet")):
        result = hydraops("features", "training-table", f"out={out}", cwd=churn)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"out={out} (training-table): path" in result.stderr and "is outside" in result.stderr
    assert not (churn.parent / "elsewhere.parquet").exists() and not (churn.parent / "abs.parquet").exists()


# --- smaller defects ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_start_after_end_is_a_usage_error(churn: Path, hydraops: Run) -> None:
    result = hydraops("features", "materialize", "start=2026-02-01", "end=2026-01-01", cwd=churn)
    assert result.returncode == 2
    assert "start=2026-02-01T00:00:00+00:00 is not before end=2026-01-01T00:00:00+00:00" in result.stderr


def test_failing_values_are_quoted_short(repo: FeatureRepo, tmp_path: Path) -> None:
    """Three 1 MB values fail a check: the message quotes a few characters of each, not megabytes."""
    huge = [c * 1_000_000 for c in "xyz"]
    path = Path(repo.data.dir) / "customers.parquet"
    pd.read_parquet(path).assign(plan=huge).to_parquet(path)
    with pytest.raises(DataError) as caught:
        materialize(repo)
    message = str(caught.value)
    assert "column 'plan' failed isin" in message and "(1,000,002 chars)" in message
    assert len(message) < 1_000


def test_labels_declared_not_null_fail_the_training_table(repo: FeatureRepo, tmp_path: Path) -> None:
    materialize(repo)
    out = tmp_path / "project" / "train.parquet"
    with pytest.raises(DataError, match=r"labels source 'labels' .*failed its checks.*\n  source 'labels': column 'churned' failed not_nullable"):
        build_training_table(repo, str(out))
    assert not out.exists()
    repo.features.validation = ValidationMode.warn
    table = build_training_table(repo, str(out))
    assert out.exists() and any("column 'churned' failed not_nullable" in w for w in table.warnings)


def test_data_values_are_printed_as_text_not_markup(churn: Path, tmp_path: Path, capsys) -> None:
    """A value like ``[bold red]x[/]`` or a ``[link=…]`` tag comes out literally in get-online and describe."""
    from hydraops import load_spec
    from hydraops.cli import feature_verbs
    from hydraops.features.online import OnlineRow, SqliteOnlineStore

    store = tmp_path / "online.db"
    description = "[link=https://evil.example]click[/link]"
    spec = load_spec(churn, [f"stack.online_store.path={store}", f"features.views.customer_profile.features.age.description='{description}'"])
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    with SqliteOnlineStore(str(store)) as online:
        values = {"plan": "[bold red]x[/]", "region": description, "age": 30}
        online.write("customer_profile", [OnlineRow((1,), moment, values)], as_of=moment)
    feature_verbs.get_online(spec, None, {"entity": "1", "at": moment})
    feature_verbs.describe(spec, None, {"view": "customer_profile"})
    printed = capsys.readouterr().out
    assert "'[bold red]x[/]'" in printed and f"'{description}'" in printed
    assert printed.count(description) == 2, "the description too is shown as written"


def test_a_redis_db_index_out_of_range_names_the_config_key() -> None:
    redis = pytest.importorskip("redis")
    from hydraops.features.online import RedisOnlineStore

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    with pytest.raises(FeatureStoreError, match=r"stack.online_store.url\) refused the connection: DB index is out of range"):
        RedisOnlineStore("redis://127.0.0.1:6379/99")


def test_confinement_leaves_the_current_folder_alone(repo: FeatureRepo, tmp_path: Path, monkeypatch) -> None:
    """Materializing writes only in the offline store: nothing appears in the working folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    repo.features.views["profile"].features["age"].expr = "age * 2"
    repo.data.sources["customers"].columns = {}
    [result] = materialize(repo).views
    assert result.status == "materialized" and os.listdir(work) == []
