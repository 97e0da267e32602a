"""``check_sources``: the config against the sources' schemas, every problem at once, no data row read."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from hydraops import load_spec
from hydraops.config.schemas import ColumnSpec, Dtype
from hydraops.config.schemas.data import (
    AggFunc,
    AggregationSpec,
    DataSpec,
    EntitySpec,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    FileFormat,
    LabelsSpec,
    SourceSpec,
)
from hydraops.errors import DataError
from hydraops.features import FeatureRepo, materialize
from hydraops.features.checks import check_sources
from hydraops.features.data_stage import plan_data
from hydraops.testing import churn_project
from tests.conftest import Run

EVENTS = """SELECT i % 7 AS user_id, i % 3 AS merchant_id, TIMESTAMP '2025-01-01' + to_seconds(i * 60) AS ts,
                  i * 1.5 AS amount, CASE WHEN i % 2 = 0 THEN 'web' ELSE 'app' END AS channel FROM range({rows}) t(i)"""
USERS = "SELECT i AS user_id, TIMESTAMP '2024-06-01' AS signup, 20 + i AS age FROM range(7) t(i)"
LABELS = "SELECT i % 7 AS user_id, i % 3 AS merchant_id, TIMESTAMP '2025-02-01' AS label_time, i % 2 AS churned FROM range(20) t(i)"


def write(folder: Path, name: str, query: str, fmt: FileFormat) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt.value}"
    options = "FORMAT parquet" if fmt is FileFormat.parquet else "HEADER"
    duckdb.execute(f"COPY ({query}) TO '{path}' ({options})")
    return path


def shop(tmp_path: Path, fmt: FileFormat = FileFormat.parquet, *, events_rows: int = 50) -> FeatureRepo:
    """Users, their events (keyed by user and by merchant) and labels, as ``fmt`` files; a row view over users,
    an aggregation view with a ``where`` per entity; no declared columns, so only the data can tell a typo."""
    data = tmp_path / "data"
    write(data, "events", EVENTS.format(rows=events_rows), fmt)
    write(data, "users", USERS, fmt)
    write(data, "labels", LABELS, fmt)
    sources = {name: SourceSpec(path=f"{name}.{fmt.value}", timestamp=ts) for name, ts in [("events", "ts"), ("users", "signup"), ("labels", "label_time")]}
    spend = AggregationSpec(column="amount", agg=[AggFunc.sum], windows=["7d"], where="channel = 'web'")
    features = FeaturesSpec(
        entities={"user": EntitySpec(join_keys=["user_id"]), "merchant": EntitySpec(join_keys=["merchant_id"])},
        views={
            "profile": FeatureViewSpec(entity="user", source="users", features={"age_next_year": FeatureSpec(expr="age + 1")}),
            "spend": FeatureViewSpec(entity="user", source="events", aggregations=[spend]),
            "merchant_spend": FeatureViewSpec(
                entity="merchant", source="events", aggregations=[AggregationSpec(column="amount", agg=[AggFunc.count], windows=["1d"])]
            ),
        },
        labels=LabelsSpec(source="labels", entity="user", timestamp="label_time", target="churned"),
    )
    return FeatureRepo(features, DataSpec(format=fmt, dir=str(data), sources=sources), tmp_path / "offline")


def only(problems: list[DataError]) -> DataError:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return churn_project(tmp_path_factory.mktemp("checks") / "churn", 100)


def test_the_churn_project_matches_its_data(churn: Path) -> None:
    assert check_sources(FeatureRepo.from_spec(load_spec(churn, []))) == []


def test_the_handmade_shop_matches_its_data(tmp_path: Path) -> None:
    assert check_sources(shop(tmp_path)) == []


def test_a_misspelled_column_in_an_expression(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.features.views["profile"].features["age_next_year"].expr = "agee + 1"
    problem = only(check_sources(repo))
    assert problem.key == "features.views.profile.features.age_next_year.expr"
    message = str(problem)
    assert "refers to 'agee', which is not a column of the source; columns: age, signup, user_id" in message
    assert f"source 'users' ({tmp_path / 'data' / 'users.parquet'})" in message


def test_an_expression_that_parses_but_does_not_compile(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.features.views["profile"].features["age_next_year"].expr = "age + signup"
    problem = only(check_sources(repo))
    assert problem.key == "features.views.profile.features.age_next_year.expr"
    assert "`age + signup` does not compile: Binder Error" in str(problem) and "source 'users' has: user_id, signup, age" in str(problem)


def test_a_misspelled_column_in_a_where(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.features.views["spend"].aggregations[0].where = "chanel = 'web'"
    problem = only(check_sources(repo))
    assert problem.key == "features.views.spend.aggregations[0].where"
    assert "refers to 'chanel'" in str(problem) and "channel" in str(problem) and "events.parquet" in str(problem)


def test_a_misspelled_aggregation_column(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.features.views["spend"].aggregations[0].column = "amout"
    problem = only(check_sources(repo))
    assert (problem.key, problem.column) == ("features.views.spend.aggregations[0].column", "amout")
    assert "aggregation column 'amout'" in str(problem)
    assert "is not in source 'events'" in str(problem) and "available: user_id, merchant_id, ts, amount, channel" in str(problem)


def test_a_join_key_missing_from_the_source(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    write(tmp_path / "data", "events", EVENTS.format(rows=50).replace("i % 3 AS merchant_id, ", ""), FileFormat.parquet)
    problem = only(check_sources(repo))
    assert (problem.key, problem.column) == ("features.entities.merchant.join_keys", "merchant_id")
    message = str(problem)
    assert "feature view 'merchant_spend': join key 'merchant_id' of entity 'merchant' is not a column of source 'events'" in message
    assert "available: user_id, ts, amount, channel" in message


def test_labels_missing_the_key_of_another_entity_name_view_entity_and_key(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    write(tmp_path / "data", "labels", LABELS.replace("i % 3 AS merchant_id, ", ""), FileFormat.parquet)
    problem = only(check_sources(repo))
    assert (problem.key, problem.column) == ("features.labels.source", "merchant_id")
    message = str(problem)
    assert "feature view 'merchant_spend' joins on key 'merchant_id' of entity 'merchant'" in message
    assert f"the labels source 'labels' ({tmp_path / 'data' / 'labels.parquet'})" in message
    assert "available: user_id, label_time, churned" in message


def test_labels_timestamp_and_target(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.features.labels.target = "churn"
    repo.features.labels.timestamp = "user_id"
    assert [(p.key, p.column) for p in check_sources(repo)] == [
        ("features.labels.target", "churn"),
        ("features.labels.timestamp", "user_id"),
    ]


def test_a_wrong_declared_dtype(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.data.sources["users"].columns = {"age": ColumnSpec(dtype=Dtype.string), "user_id": ColumnSpec(dtype=Dtype.int64)}
    problem = only(check_sources(repo))
    assert (problem.key, problem.column) == ("data.sources.users.columns.age.dtype", "age")
    assert "column 'age' is BIGINT in the data, declared string" in str(problem) and "users.parquet" in str(problem)


def test_a_query_source_with_a_bad_column(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.data.sources["web"] = SourceSpec(query="SELECT user_id, ts, amout FROM events WHERE channel = 'web'", timestamp="ts")
    repo.features.views["spend"].source = "web"
    problem = only(check_sources(repo))
    assert problem.key == "data.sources.web.query"
    assert "source 'web': its query (data.sources.web.query) does not compile: Binder Error" in str(problem)
    assert "'events' has user_id, merchant_id, ts, amount, channel" in str(problem)
    repo.data.sources["web"].query = "SELECT user_id, ts, amount FROM events WHERE channel = 'web'"
    problem = only(check_sources(repo))  # the view now reads the query's columns, which lack its where's
    assert problem.key == "features.views.spend.aggregations[0].where" and "source 'web' (a DuckDB query)" in str(problem)


def test_a_csv_source(tmp_path: Path) -> None:
    repo = shop(tmp_path, FileFormat.csv)
    assert check_sources(repo) == []
    repo.features.views["profile"].features["age_next_year"].expr = "agee + 1"
    problem = only(check_sources(repo))
    assert problem.key == "features.views.profile.features.age_next_year.expr" and str(tmp_path / "data" / "users.csv") in str(problem)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.features.views["profile"].features["age_next_year"].expr = "agee + 1"
    repo.features.views["spend"].aggregations[0].column = "amout"
    repo.data.sources["users"].columns = {"age": ColumnSpec(dtype=Dtype.string)}
    repo.data.sources["missing"] = SourceSpec(path="nowhere/*.parquet")
    keys = {p.key for p in check_sources(repo)}
    assert keys == {
        "features.views.profile.features.age_next_year.expr",
        "features.views.spend.aggregations[0].column",
        "data.sources.users.columns.age.dtype",
        "data.sources.missing.path",
    }


def test_materialize_runs_the_same_check(tmp_path: Path) -> None:
    repo = shop(tmp_path)
    repo.features.views["spend"].aggregations[0].column = "amout"
    repo.features.views["spend"].aggregations[0].where = "chanel = 'web'"
    with pytest.raises(DataError) as caught:
        materialize(repo, views=["spend"])
    message = str(caught.value)
    assert message.startswith("the data does not match the config: 2 problems")
    assert "features.views.spend.aggregations[0].where: feature view 'spend'" in message and "aggregation column 'amout'" in message


def test_no_data_row_is_read(tmp_path: Path) -> None:
    """2M events whose data pages are overwritten with zeros, the footer kept: any read of a row fails, the
    checks (schemas from the footer, a query source bound, expressions compiled with LIMIT 0) pass and still
    find a typo."""
    repo = shop(tmp_path, events_rows=2_000_000)
    events = tmp_path / "data" / "events.parquet"
    size, footer = events.stat().st_size, int.from_bytes(events.read_bytes()[-8:-4], "little")
    with open(events, "r+b") as file:
        file.seek(4)
        file.write(bytes(size - 8 - footer - 4))
    with pytest.raises(duckdb.Error):
        duckdb.execute(f"SELECT sum(amount) FROM read_parquet('{events}')").fetchall()
    repo.data.sources["web"] = SourceSpec(query="SELECT user_id, ts, amount FROM events WHERE channel = 'web'", timestamp="ts")
    repo.features.views["web_rows"] = FeatureViewSpec(entity="user", source="web", features={"cents": FeatureSpec(expr="round(amount * 100)")})
    assert check_sources(repo) == []
    repo.features.views["spend"].aggregations[0].where = "channel = 3 + 'web'"
    assert only(check_sources(repo)).key == "features.views.spend.aggregations[0].where"


def test_plan_fails_early_on_a_typo_but_not_before_the_data_exists(churn: Path, tmp_path: Path) -> None:
    spec = load_spec(churn, ["features.views.customer_profile.features.age.expr=age + plan"])
    with pytest.raises(DataError, match=r"1 problem\n  features.views.customer_profile.features.age.expr: .*`age \+ plan` does not compile"):
        plan_data(spec)
    empty = Path(shutil.copytree(churn, tmp_path / "empty", ignore=shutil.ignore_patterns("*.parquet")))
    assert not list((empty / "data").glob("*"))
    assert len(plan_data(load_spec(empty, ["features.views.customer_profile.features.age.expr=age + plan"]))) == 4


def test_validate_check_data_exits_2_listing_every_problem(churn: Path, hydraops: Run) -> None:
    ok = hydraops("validate", "check_data=true", cwd=churn)
    assert ok.returncode == 0, ok.stderr
    assert "the data matches it" in ok.stdout
    bad = hydraops(
        "validate",
        "check_data=true",
        "data.sources.tickets.columns.severity.dtype=float64",
        "features.views.customer_profile.features.age.expr=age + plan",
        cwd=churn,
    )
    assert bad.returncode == 2, bad.stderr
    lines = bad.stderr.splitlines()
    assert lines[0] == "error: the data does not match the config: 2 problems"
    assert lines[1].startswith("  data.sources.tickets.columns.severity.dtype (command-line override 'data.sources.tickets.columns.severity.dtype=float64'): ")
    assert "column 'severity' is BIGINT in the data, declared float64" in lines[1] and f"(read from {churn / 'data' / 'tickets.parquet'})" in lines[1]
    assert lines[2].startswith("  features.views.customer_profile.features.age.expr (command-line override")
    assert "`age + plan` does not compile" in lines[2]
