"""Checks on what the feature store reads and writes, as pandera schemas validated batch by batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hydraops.config.schemas import ValueChecks

SAMPLE = 5  # failing values quoted per check
EXAMPLE_CHARS = 60  # characters quoted of each failing value


@dataclass(frozen=True)
class CheckFailure:
    """One check that failed on a column: how many values failed, and a few of them."""

    column: str
    check: str
    count: int
    examples: tuple[str, ...]

    def __str__(self) -> str:
        return f"column '{self.column}' failed {self.check} on {self.count} value(s), e.g. {', '.join(self.examples)}"


def value_schema(checks: Mapping[str, ValueChecks]):  # -> pandera.pandas.DataFrameSchema
    """A pandera schema from declared checks: nullability, inclusive bounds, allowed values."""
    import pandera.pandas as pa

    columns = {}
    for name, spec in checks.items():
        column_checks = []
        if spec.ge is not None:
            column_checks.append(pa.Check.ge(spec.ge))
        if spec.le is not None:
            column_checks.append(pa.Check.le(spec.le))
        if spec.isin is not None:
            column_checks.append(pa.Check.isin(list(spec.isin)))
        columns[name] = pa.Column(nullable=spec.nullable, checks=column_checks, coerce=False)
    return pa.DataFrameSchema(columns)


def check_batches(batches: Iterable, checks: Mapping[str, ValueChecks]) -> list[CheckFailure]:
    """Validate pandas batches against the declared checks; every failure, counted over all batches."""
    import pandera.pandas as pa

    if not checks:
        return []
    schema = value_schema(checks)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for batch in batches:
        try:
            schema.validate(batch, lazy=True)
        except pa.errors.SchemaErrors as errors:
            for row in errors.failure_cases[["column", "check", "failure_case"]].itertuples(index=False):
                key = (str(row.column), str(row.check))
                counts[key] += 1
                if len(examples[key]) < SAMPLE:
                    examples[key].append(example(row.failure_case))
    return [CheckFailure(column, check, counts[(column, check)], tuple(examples[(column, check)])) for column, check in counts]


def example(value: object, limit: int = EXAMPLE_CHARS) -> str:
    """A failing value as quoted in messages: its repr, cut to ``limit`` characters (values can be megabytes)."""
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} chars)"


def source_failures(con, repo, source: str) -> list[CheckFailure]:
    """The declared checks of a registered source (``data.sources.<source>.columns``) that its rows fail."""
    from hydraops.features.sources import quote

    columns = repo.data.sources[source].columns
    if not columns:
        return []
    failures = check_batches(batches(con, f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(source)}"), columns)
    for column, spec in columns.items():
        if spec.unique:
            dupes = con.execute(f"SELECT count({quote(column)}) - count(DISTINCT {quote(column)}) FROM {quote(source)}").fetchone()[0]
            if dupes:
                failures.append(CheckFailure(column, "unique", dupes, ()))
    return failures


def batches(con, query: str, size: int = 200_000):
    """The query's rows as pandas frames of ``size`` rows, read on a cursor of their own."""
    cursor = con.cursor()
    try:
        for batch in cursor.sql(query).to_arrow_reader(size):
            yield batch.to_pandas()
    finally:
        cursor.close()
