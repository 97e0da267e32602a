"""Feature expressions are checked by DuckDB's own parser before anything runs them.

A row feature's ``expr`` and an aggregation's ``where`` must each be one scalar expression over the source's
columns: it is parsed (never executed) exactly as the feature store embeds it, ``SELECT (<expr>) FROM <source>``, and the tree must be one
SELECT of one expression whose every node is a column, a constant, an operator, a cast, a CASE, a lambda or a
call of an allow-listed, deterministic scalar function — no statement, subquery, table function, window,
aggregate, parameter or ``*``. A ``query:`` source must parse as exactly one SELECT statement. DuckDB is
imported only when there is something to parse (a bare declared column name needs no parser), so ``validate``
stays light for projects whose features are plain columns and aggregations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator

from hydraops.config.schemas import ProjectSpec
from hydraops.features.sql_functions import SCALAR_FUNCTIONS

#: Expression node classes (DuckDB's ``json_serialize_sql``) a feature may use; any other is refused.
ALLOWED_CLASSES = frozenset(
    {"BETWEEN", "CASE", "CAST", "COLLATE", "COLUMN_REF", "COMPARISON", "CONJUNCTION", "CONSTANT", "FUNCTION", "LAMBDA", "OPERATOR", "TYPE"}
)
_PLACEHOLDER = "__source"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Parts of the wrapping SELECT that must stay empty: anything there was smuggled in by the expression.
_EMPTY_CLAUSES = ("where_clause", "having", "qualify", "sample", "group_expressions", "group_sets", "modifiers")


def parse(con, sql: str) -> dict:
    """DuckDB's parse tree of ``sql`` as JSON (parsed, not bound nor run)."""
    return json.loads(con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchall()[0][0])


def expression_problem(con, expr: str, columns: Collection[str] | None = None) -> str | None:
    """Why ``expr`` is not one scalar expression over ``columns`` (any column when None), or None if it is."""
    tree = parse(con, f"SELECT ({expr}) FROM {_PLACEHOLDER}")
    if tree.get("error"):
        message = _first_line(tree.get("error_message", "parse error"))
        if "Only SELECT statements" in message:
            message = "it ends the expression and adds statements"
        return f"is not a single SQL expression ({message})"
    statements = tree["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    source = node.get("from_table") or {}
    if (
        node.get("type") != "SELECT_NODE"
        or len(node.get("select_list", ())) != 1
        or source.get("type") != "BASE_TABLE"
        or source.get("table_name") != _PLACEHOLDER
        or node.get("cte_map", {}).get("map")
        or any(node.get(clause) for clause in _EMPTY_CLAUSES)
    ):
        return "must be one expression, not a statement or query (no FROM, WHERE, ';', or extra select items)"
    return _node_problem(node["select_list"][0], None if columns is None else set(columns), set())


def query_problem(con, query: str) -> str | None:
    """Why ``query`` is not exactly one SELECT statement, or None."""
    tree = parse(con, query)
    if tree.get("error") or len(tree.get("statements", ())) != 1:
        reason = _first_line(tree.get("error_message", "")) or f"{len(tree.get('statements', ()))} statements"
        return f"must be exactly one SELECT statement ({reason})"
    return None


def sql_findings(spec: ProjectSpec) -> Iterator[tuple[str, str]]:
    """``validate``'s check: every feature expression, aggregation ``where`` and source query, as (key, problem) pairs."""
    expressions = [
        (f"features.views.{name}.features.{feature}.expr", item.expr, view.source)
        for name, view in spec.features.views.items()
        for feature, item in view.features.items()
        if not _declared_column(spec, view.source, item.expr)
    ]
    expressions += [
        (f"features.views.{name}.aggregations[{i}].where", aggregation.where, view.source)
        for name, view in spec.features.views.items()
        for i, aggregation in enumerate(view.aggregations)
        if aggregation.where is not None
    ]
    queries = [(f"data.sources.{name}.query", source.query) for name, source in spec.data.sources.items() if source.query]
    if not expressions and not queries:
        return  # nothing to parse: DuckDB is not even imported
    import duckdb

    con = duckdb.connect()  # parsing only: nothing is read, bound or run
    try:
        for key, query in queries:
            problem = query_problem(con, query)
            if problem:
                yield key, problem
        for key, expr, source in expressions:
            declared = spec.data.sources[source].columns if source in spec.data.sources else {}
            problem = expression_problem(con, expr, declared or None)
            if problem:
                yield key, f"`{_shorten(expr)}` {problem}"
    finally:
        con.close()


def _declared_column(spec: ProjectSpec, source: str, expr: str) -> bool:
    """Whether ``expr`` is just the name of a column its source declares: nothing to parse."""
    declared = spec.data.sources[source].columns if source in spec.data.sources else {}
    return _IDENTIFIER.fullmatch(expr) is not None and expr in declared


def _node_problem(node: object, columns: set[str] | None, bound: set[str]) -> str | None:
    """The first refused node under ``node``; ``bound`` holds the lambda parameters in scope."""
    if isinstance(node, list):
        return next((p for item in node if (p := _node_problem(item, columns, bound))), None)
    if not isinstance(node, dict):
        return None
    kind = node.get("class")
    if kind is None:
        return next((p for value in node.values() if (p := _node_problem(value, columns, bound))), None)
    if kind not in ALLOWED_CLASSES:
        what = {"SUBQUERY": "a subquery", "WINDOW": "a window function", "STAR": "'*'", "PARAMETER": "a parameter"}
        return f"uses {what.get(kind, kind.lower())}, which a feature expression may not"
    if kind == "LAMBDA":
        parameters = _lambda_parameters(node["lhs"])
        return _node_problem(node["expr"], columns, bound | parameters)
    if kind == "FUNCTION":
        problem = _function_problem(node)
        if problem:
            return problem
        return _node_problem(node.get("arguments", []), columns, bound)
    if kind == "COLUMN_REF":
        name = node["column_names"][0]
        if columns is not None and name not in columns and name not in bound:
            return f"refers to '{name}', which is not a column of the source; columns: {', '.join(sorted(columns))}"
        return None
    return next((p for key, value in node.items() if key != "class" and (p := _node_problem(value, columns, bound))), None)


def _function_problem(node: dict) -> str | None:
    name = node["function_name"]
    if node.get("schema") or node.get("catalog"):
        return f"calls '{node.get('catalog') or node.get('schema')}.{name}': functions are called by their plain name"
    if name.lower() not in SCALAR_FUNCTIONS:
        return (
            f"calls '{name}', which is not an allowed scalar function (no table, file, setting, aggregate or "
            "non-deterministic functions; see hydraops.features.sql_functions)"
        )
    if node.get("filter") or node.get("distinct") or node.get("order_bys", {}).get("orders") or node.get("export_state"):
        return f"calls '{name}' with FILTER, DISTINCT or ORDER BY, which only aggregates take"
    return None


def _lambda_parameters(lhs: dict) -> set[str]:
    if lhs.get("class") == "COLUMN_REF":
        return {lhs["column_names"][0]}
    return {argument["expression"]["column_names"][0] for argument in lhs.get("arguments", []) if argument["expression"].get("class") == "COLUMN_REF"}


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
