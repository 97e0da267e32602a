"""Feature expressions are one scalar expression over the source's columns, checked by DuckDB's parser at
``validate`` (issue 9, item 5): statements, subqueries, table functions and file access are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hydraops.config.schemas.data import (
    AggFunc,
    AggregationSpec,
    ColumnSpec,
    DataSpec,
    Dtype,
    EntitySpec,
    FeatureSpec,
    FeaturesSpec,
    FeatureViewSpec,
    FileFormat,
    SourceSpec,
)
from hydraops.features.expressions import expression_problem, sql_findings
from hydraops.features.sources import connect
from hydraops.features.sql_functions import SCALAR_FUNCTIONS
from tests.conftest import Run

COPY_ATTACK = "age) FROM customers; COPY (SELECT 1 AS x) TO 'outside.csv'; SELECT (age"
READ_ATTACK = "(SELECT content FROM read_text('/etc/passwd'))"
COLUMNS = {"age", "plan", "tags", "ts", "amount"}


@pytest.fixture(scope="module")
def con():
    connection = connect()
    yield connection
    connection.close()


@pytest.mark.parametrize(
    "expr",
    [
        "age",
        "coalesce(age, 0) * 2 + 1",
        "CASE WHEN age >= 65 THEN 'senior' WHEN age IS NULL THEN NULL ELSE 'adult' END",
        "CAST(age AS DOUBLE) / 10",
        "age::VARCHAR || '-' || upper(plan)",
        "plan IN ('basic', 'premium') AND NOT (age BETWEEN 18 AND 25)",
        "date_part('year', ts) - 2000",
        "extract(month FROM ts)",
        "if(amount > 100, 'big', 'small')",
        "list_transform(tags, x -> upper(x))",
        "list_reduce(tags, (a, b) -> a || b)",
        "regexp_matches(plan, '^p') OR plan LIKE 'b%'",
        "ts + INTERVAL '1 day' > ts",
        "round(ln(amount + 1), 3)",
    ],
)
def test_scalar_expressions_over_the_columns_pass(con, expr: str) -> None:
    assert expression_problem(con, expr, COLUMNS) is None


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        (COPY_ATTACK, "is not a single SQL expression"),
        (READ_ATTACK, "uses a subquery"),
        ("age IN (SELECT age FROM customers)", "uses a subquery"),
        ("read_text('/etc/passwd')", "calls 'read_text', which is not an allowed scalar function"),
        ("getvariable('x')", "calls 'getvariable'"),
        ("current_setting('allowed_directories')", "calls 'current_setting'"),
        ("getenv('HOME')", "calls 'getenv'"),
        ("random()", "calls 'random'"),
        ("now()", "calls 'now'"),
        ("sum(age)", "calls 'sum'"),
        ("row_number() OVER ()", "uses a window function"),
        ("*", "uses '*'"),
        ("$1", "uses a parameter"),
        ("main.upper(plan)", "functions are called by their plain name"),
        ("age) AS a, (age", "must be one expression"),
        ("age) FROM __source WHERE true --", "must be one expression"),
        ("age) FROM (SELECT content AS age FROM read_text('/etc/passwd')) --", "must be one expression"),
        ("age --", "is not a single SQL expression"),
        ("agex + 1", "refers to 'agex', which is not a column of the source"),
    ],
)
def test_statements_subqueries_and_file_functions_are_refused(con, expr: str, problem: str) -> None:
    found = expression_problem(con, expr, COLUMNS)
    assert found is not None and problem in found, found


def test_the_allow_list_holds_only_duckdb_scalars_without_side_effects(con) -> None:
    rows = con.execute(
        "SELECT function_name, bool_or(has_side_effects) FROM duckdb_functions() "
        "WHERE function_type = 'scalar' OR (function_type = 'macro' AND schema_name = 'main') GROUP BY ALL"
    ).fetchall()
    pure = {name for name, side_effects in rows if not side_effects}
    assert SCALAR_FUNCTIONS <= pure, sorted(SCALAR_FUNCTIONS - pure)
    assert not {name for name in SCALAR_FUNCTIONS if name.startswith(("read_", "current_", "glob", "json_serialize"))}


def test_query_sources_must_be_one_select_statement() -> None:
    """A ``query:`` source reads other sources by design, but it is one SELECT: no COPY, no second statement."""
    sources = {
        "events": SourceSpec(path="events.parquet", timestamp="ts"),
        "big": SourceSpec(query="SELECT * FROM events WHERE amount > 1; COPY (SELECT 1) TO 'x.csv'", timestamp="ts"),
        "fine": SourceSpec(query="SELECT * FROM events WHERE amount > 1", timestamp="ts"),
    }
    view = FeatureViewSpec(entity="user", source="events", features={"a": FeatureSpec(expr="amount * 2")})
    spec = SimpleNamespace(
        data=DataSpec(format=FileFormat.parquet, dir="data", sources=sources),
        features=FeaturesSpec(entities={"user": EntitySpec(join_keys=["user_id"])}, views={"v": view}),
    )
    findings = dict(sql_findings(spec))
    assert list(findings) == ["data.sources.big.query"]
    assert "must be exactly one SELECT statement" in findings["data.sources.big.query"]


def test_aggregation_where_is_checked_like_a_feature_expression() -> None:
    """Each ``where`` is parsed with the same safe check; findings name ``aggregations[i].where``."""
    wheres = ["channel = 'web'", READ_ATTACK, "channel = ", "chanel = 'web'", COPY_ATTACK.replace("age", "channel")]
    aggregations = [AggregationSpec(column="amount", agg=[AggFunc.sum], windows=[f"{i + 1}d"], where=w) for i, w in enumerate(wheres)]
    columns = {"amount": ColumnSpec(dtype=Dtype.float64), "channel": ColumnSpec(dtype=Dtype.string), "ts": ColumnSpec(dtype=Dtype.timestamp)}
    spec = SimpleNamespace(
        data=DataSpec(format=FileFormat.parquet, dir="data", sources={"events": SourceSpec(path="e.parquet", timestamp="ts", columns=columns)}),
        features=FeaturesSpec(
            entities={"user": EntitySpec(join_keys=["user_id"])}, views={"v": FeatureViewSpec(entity="user", source="events", aggregations=aggregations)}
        ),
    )
    findings = dict(sql_findings(spec))
    assert list(findings) == [f"features.views.v.aggregations[{i}].where" for i in (1, 2, 3, 4)]
    assert "uses a subquery" in findings["features.views.v.aggregations[1].where"]
    assert "is not a single SQL expression" in findings["features.views.v.aggregations[2].where"]
    assert "refers to 'chanel', which is not a column of the source" in findings["features.views.v.aggregations[3].where"]
    assert "is not a single SQL expression" in findings["features.views.v.aggregations[4].where"]


@pytest.mark.slow
def test_validate_refuses_both_attacks_and_writes_nothing(churn: Path, hydraops: Run) -> None:
    """The two overrides of the issue: ``validate`` exits 2 naming each key; no file appears anywhere."""
    result = hydraops(
        "validate",
        f'features.views.customer_profile.features.age.expr="{COPY_ATTACK}"',
        f'features.views.customer_profile.features.plan.expr="{READ_ATTACK}"',
        cwd=churn,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "features.views.customer_profile.features.age.expr" in result.stderr
    assert "is not a single SQL expression" in result.stderr
    assert "features.views.customer_profile.features.plan.expr" in result.stderr and "uses a subquery" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(churn.parent.rglob("outside.csv"))


def test_without_sql_to_check_duckdb_is_not_imported() -> None:
    """The parser is loaded only when there is SQL to check, so ``validate`` stays light otherwise."""
    code = """
import sys
from types import SimpleNamespace
from hydraops.config.schemas.data import AggFunc, AggregationSpec, DataSpec, FeaturesSpec, FeatureViewSpec, SourceSpec
from hydraops.features.expressions import sql_findings
view = FeatureViewSpec(entity="user", source="events", aggregations=[AggregationSpec(column="a", agg=[AggFunc.sum], windows=["7d"])])
spec = SimpleNamespace(data=DataSpec(dir="d", sources={"events": SourceSpec(path="e.parquet")}), features=FeaturesSpec(views={"v": view}))
assert list(sql_findings(spec)) == []
print("duckdb" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_plan_refuses_an_unsafe_where_naming_its_key(churn: Path, hydraops: Run) -> None:
    result = hydraops("plan", 'features.views.transaction_activity.aggregations.0.where="(SELECT 1)"', cwd=churn)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "features.views.transaction_activity.aggregations[0].where" in result.stderr and "uses a subquery" in result.stderr
    assert "Traceback" not in result.stderr
