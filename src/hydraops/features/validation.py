"""Checks on what the feature store reads and writes: the declared value checks, run in DuckDB.

One aggregate query per relation (a source, a view's staged rows) counts the failures of every check, and
a second, only when some failed, keeps the first few failing values of those; no row leaves DuckDB and pandas is not involved. Checks
are named as pandera names them (``not_nullable``, ``greater_than_or_equal_to(0.0)``,
``less_than_or_equal_to(90.0)``, ``isin([...])``, ``unique``), and, as pandera does, a value check skips
null and NaN values: only ``not_nullable`` counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hydraops.config.schemas import ValueChecks
from hydraops.errors import DataError

SAMPLE = 5  # failing values quoted per check
EXAMPLE_CHARS = 60  # characters quoted of each failing value
_FLOATS = ("DOUBLE", "FLOAT", "REAL")
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
#: Bits a ``unique`` check on integers may set in a bitmap of their range (16 MiB), and per value at most.
_BITMAP_BITS, _BITMAP_PER_VALUE = 2**27, 64


@dataclass(frozen=True)
class CheckFailure:
    """One check that failed on a column: how many values failed, and a few of them."""

    column: str
    check: str
    count: int
    examples: tuple[str, ...]

    def __str__(self) -> str:
        return f"column '{self.column}' failed {self.check} on {self.count} value(s), e.g. {', '.join(self.examples)}"


def check_relation(
    con, relation: str, checks: Mapping[str, ValueChecks], *, order: str | None = None, key: str = "", types: Mapping[str, str] | None = None
) -> list[CheckFailure]:
    """Every declared check that rows of ``relation`` (SQL: a view name, ``read_parquet(...)``) fail, counted
    over all rows in one aggregate query; up to ``SAMPLE`` failing values each, the first by ``order`` (a
    column, e.g. ``__seq``: source order) when given. ``key`` names the checks' config key in errors;
    ``types``: the relation's column types when known (else DuckDB describes it)."""
    import duckdb

    from hydraops.features.sources import quote

    if not checks:
        return []
    if types is None:
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    planned = [(column, name, condition) for column, spec in checks.items() for name, condition in _conditions(column, types.get(column, ""), spec)]
    ranges = _integer_ranges(con, relation, [c for c, name, _ in planned if name == "unique" and types.get(c) in _INTEGERS])
    counts = [_failing(quote(c), name, condition, ranges.get(c), types.get(c, "").startswith(_FLOATS)) for c, name, condition in planned]
    try:
        found = con.execute(f"SELECT {', '.join(counts)} FROM {relation}").fetchall()[0]
        failed = [i for i, (count, (_, name, _)) in enumerate(zip(found, planned)) if count and name not in ("unique", "not_nullable")]
        samples = {i: f"arg_min({quote(planned[i][0])}, {order or quote(planned[i][0])}, {SAMPLE}) FILTER (WHERE {planned[i][2]})" for i in failed}
        examples = dict(zip(samples, con.execute(f"SELECT {', '.join(samples.values())} FROM {relation}").fetchall()[0])) if samples else {}
    except duckdb.Error as error:
        raise DataError(f"the checks of {key or relation} cannot be run: {str(error).strip().splitlines()[0]}", key=key or None) from error
    failures = []
    for i, ((column, name, _), count) in enumerate(zip(planned, found)):
        if count:
            sample = examples.get(i)
            quoted = tuple(example(v) for v in sample) if sample is not None else (example(None),) * (0 if name == "unique" else min(count, SAMPLE))
            failures.append(CheckFailure(column, name, int(count), quoted))
    return failures


def _failing(column: str, name: str, condition: str, bounds: tuple[int, int] | None, floating: bool) -> str:
    """SQL counting the values of ``column`` that fail the check ``name`` (``condition``: true where a row
    fails it): nulls (and NaN when ``floating``) as ``count(*) - count(...)``, ~10× cheaper than counting a condition."""
    if name == "unique":
        return _duplicates(column, bounds)
    if name == "not_nullable":
        return f"count(*) - count({column})" + (f" + count_if(isnan({column}))" if floating else "")
    return f"count_if({condition})"


def _integer_ranges(con, relation: str, columns: list[str]) -> dict[str, tuple[int, int] | None]:
    """Per integer column, (min, max) when its non-null values fit a bitmap of their range (``_BITMAP_BITS``,
    ``_BITMAP_PER_VALUE``), else None; cheap: parquet statistics answer it."""
    from hydraops.features.sources import quote

    if not columns:
        return {}
    [found] = con.execute(f"SELECT {', '.join(f'min({quote(c)}), max({quote(c)}), count({quote(c)})' for c in columns)} FROM {relation}").fetchall()
    ranges = {}
    for n, column in enumerate(columns):
        low, high, count = found[3 * n : 3 * n + 3]
        fits = count and high - low + 1 <= min(_BITMAP_BITS, _BITMAP_PER_VALUE * count)
        ranges[column] = (low, high) if fits else None
    return ranges


def _duplicates(column: str, bounds: tuple[int, int] | None) -> str:
    """SQL counting the values of ``column`` that repeat an earlier one: through a bitmap of the range
    ``bounds`` of integers (a pass, ~6× cheaper than hashing them), else ``count(DISTINCT ...)``."""
    if bounds is None:
        return f"count({column}) - count(DISTINCT {column})"
    return f"count({column}) - bit_count(bitstring_agg({column}, {bounds[0]}, {bounds[1]}))"


def _conditions(column: str, dtype: str, spec: ValueChecks) -> list[tuple[str, str]]:
    """(check name, SQL true where a row fails it) for each check declared on ``column`` (of DuckDB type ``dtype``)."""
    from hydraops.features.sources import quote

    q = quote(column)
    floating = dtype.startswith(_FLOATS)
    null = f"({q} IS NULL OR isnan({q}))" if floating else f"{q} IS NULL"
    value = f"NOT {null} AND "  # value checks skip nulls (and NaN), as pandera's do
    conditions = [] if spec.nullable else [("not_nullable", null)]
    if spec.ge is not None:
        conditions.append((f"greater_than_or_equal_to({spec.ge})", f"{value}{q} < {_sql_value(spec.ge)}"))
    if spec.le is not None:
        conditions.append((f"less_than_or_equal_to({spec.le})", f"{value}{q} > {_sql_value(spec.le)}"))
    if spec.isin is not None:
        allowed = list(spec.isin)
        members = ", ".join(_sql_value(v) for v in allowed if v is not None) or "NULL"
        conditions.append((f"isin({allowed!r})", f"{value}{q} NOT IN ({members})"))
    if getattr(spec, "unique", False):
        conditions.append(("unique", ""))
    return conditions


def _sql_value(value: object) -> str:
    """A declared bound or allowed value as an SQL literal."""
    from hydraops.features.sources import literal

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{literal(repr(value))}::DOUBLE"  # inf and nan too
    return literal(str(value))


def example(value: object, limit: int = EXAMPLE_CHARS) -> str:
    """A failing value as quoted in messages: its repr, cut to ``limit`` characters (values can be megabytes)."""
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} chars)"


def source_failures(con, repo, source: str, types: Mapping[str, str] | None = None) -> list[CheckFailure]:
    """The declared checks of a registered source (``data.sources.<source>.columns``, its column ``types`` when
    known) that its rows fail; checked once while its files and declaration stay the same (``repo.checked``)."""
    from hydraops.features.sources import quote

    columns = repo.data.sources[source].columns
    if not columns:
        return []
    state = (source, repo.source_state(source))
    if state not in repo.checked:
        repo.checked[state] = check_relation(con, quote(source), columns, order="__seq", key=f"data.sources.{source}.columns", types=types)
    return list(repo.checked[state])
