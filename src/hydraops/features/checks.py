"""Data checks that read no row: the config against the sources' schemas, before anything long runs.

:func:`check_sources` registers every source as a DuckDB view (a parquet file's schema comes from its footer,
a CSV's from DuckDB's sniffer, a query's from binding it), then checks against those schemas every declared
column and dtype, every view's join keys, feature expressions, aggregation columns and ``where`` filters
(compiled with ``LIMIT 0``: planned, never scanned), and the labels: their timestamp and target, and the join
keys of every view's entity. Each problem is a :class:`~hydraops.errors.DataError` naming the config key, the
source and its files, the column, and the columns there are; all are listed at once (``hydraops validate
check_data=true``, ``plan``). :func:`require_view_inputs` is the same view check, run by materialize before it
computes a view; :func:`check_view_rows` checks the rows it reads.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Sequence

from hydraops.config.schemas import Dtype
from hydraops.errors import DataError
from hydraops.features.repo import FeatureRepo, mentions
from hydraops.features.sources import SourceInfo, accepts, column_problems, confine, connect, create_source_view, quote

_PENDING = SourceInfo("", {}, False)  # a source being described: met again, its query reads itself
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_sources(repo: FeatureRepo, *, skip_unreadable: bool = False) -> list[DataError]:
    """Every mismatch between the declarations and the sources' schemas; no data row is read.

    ``skip_unreadable`` (``plan``): a file source with no file yet, or one DuckDB cannot open, is left out with
    what reads it, instead of reported (its CheckSource reports it when applied); DuckDB is not even imported
    when no source has a file.
    """
    readable = [name for name, spec in repo.data.sources.items() if spec.query is None and _readable(repo, name)]
    if skip_unreadable and not readable:
        return []
    con = connect(repo.memory_limit)
    try:
        confine(con, repo, readable)
        described = _Described(con, repo, skip_unreadable)
        for name in repo.data.sources:
            described.info(name)
        problems = described.problems
        for name, view in repo.features.views.items():
            if described.infos.get(view.source) is not None and view.entity in repo.features.entities:
                problems += view_input_problems(con, repo, name, described.infos[view.source])
        labels = repo.features.labels
        if labels is not None and described.infos.get(labels.source) is not None:
            problems += label_problems(repo, described.infos[labels.source])
        return problems
    finally:
        con.close()


def view_input_problems(con, repo: FeatureRepo, name: str, info: SourceInfo) -> list[DataError]:
    """What view ``name`` needs of its registered source ``info`` and does not find there: its join keys, the
    columns its aggregations read, expressions and ``where`` filters that do not parse or compile (LIMIT 0)."""
    import duckdb

    from hydraops.features.expressions import expression_problem

    view = repo.view(name)
    about = f"source '{info.name}' ({describe_files(repo, info.name)})"
    available = ", ".join(info.columns)
    problems = [
        DataError(
            f"feature view '{name}': join key '{key}' of entity '{view.entity}' is not a column of {about}; available: {available}",
            key=f"features.entities.{view.entity}.join_keys",
            column=key,
        )
        for key in repo.join_keys(name)
        if key not in info.columns
    ]
    expressions = [(f"feature '{f}'", f"features.views.{name}.features.{f}.expr", spec.expr) for f, spec in view.features.items()]
    expressions += [
        (f"aggregation {i}", f"features.views.{name}.aggregations[{i}].where", a.where) for i, a in enumerate(view.aggregations) if a.where is not None
    ]
    parsed = []
    for what, key, expr in expressions:
        # a bare column name of the source needs no parse (nothing can hide in it); it is still compiled
        problem = None if _IDENTIFIER.fullmatch(expr) and expr in info.columns else expression_problem(con, expr, info.columns)
        if problem:
            problems.append(DataError(f"feature view '{name}': {what} ({key}) {problem} (in {about})", key=key))
        else:
            parsed.append((what, key, expr))
    # compiled together (LIMIT 0: planned, never scanned); one by one only to tell which does not
    if parsed and not _compiles(con, [expr for *_, expr in parsed], info.name):
        for what, key, expr in parsed:
            try:
                con.execute(f"SELECT ({expr}) FROM {quote(info.name)} LIMIT 0")
            except duckdb.Error as error:
                first = str(error).strip().splitlines()[0]
                message = f"feature view '{name}': {what} ({key}) `{expr}` does not compile: {first}; source '{info.name}' has: {available}"
                problems.append(DataError(f"{message} (read from {describe_files(repo, info.name)})", key=key))
    for i, aggregation in enumerate(view.aggregations):
        if aggregation.column not in info.columns:
            problems.append(
                DataError(
                    f"feature view '{name}': aggregation column '{aggregation.column}' "
                    f"(features.views.{name}.aggregations[{i}].column) is not in {about}; available: {available}",
                    key=f"features.views.{name}.aggregations[{i}].column",
                    column=aggregation.column,
                )
            )
    return problems


def _compiles(con, expressions: list[str], source: str) -> bool:
    import duckdb

    try:
        con.execute(f"SELECT {', '.join(f'({expr})' for expr in expressions)} FROM {quote(source)} LIMIT 0")
    except duckdb.Error:
        return False
    return True


def require_view_inputs(con, repo: FeatureRepo, name: str, info: SourceInfo) -> None:
    """Materialize's check of a view's definition against its registered source, before computing it: a
    DataError naming the first of :func:`view_input_problems` (or listing all of them)."""
    problems = view_input_problems(con, repo, name, info)
    if problems:
        raise problems[0] if len(problems) == 1 else listed(problems)


def check_view_rows(con, repo: FeatureRepo, name: str, info: SourceInfo) -> list:
    """Materialize's check of the rows of a view's registered source: its declared checks (their failures
    returned: warnings, or an error once the view is computed under ``features.validation: strict``), then no
    null join key (a DataError; counted by those checks for a key declared ``nullable: false``, else read)."""
    from hydraops.features.validation import source_failures

    failures = source_failures(con, repo, info.name, info.columns)
    declared = repo.data.sources[info.name].columns
    for key in repo.join_keys(name):
        if key in declared and not declared[key].nullable and not info.columns.get(key, "").startswith(("DOUBLE", "FLOAT", "REAL")):  # NaN counts there
            nulls = sum(f.count for f in failures if f.column == key and f.check == "not_nullable")
        else:
            nulls = con.execute(f"SELECT count(*) FROM {quote(info.name)} WHERE {quote(key)} IS NULL").fetchall()[0][0]
        if nulls:
            raise DataError(f"feature view '{name}': {nulls} row(s) of source '{info.name}' have a null join key '{key}'", column=key)
    return failures


def label_problems(repo: FeatureRepo, info: SourceInfo) -> list[DataError]:
    """The labels source must hold the labels' timestamp and target, and the join keys of every view's entity
    (each view is joined to the labels rows on its own entity's keys)."""
    labels = repo.features.labels
    about = f"the labels source '{info.name}' ({describe_files(repo, info.name)})"
    available = ", ".join(info.columns)
    problems = []
    for field in ("timestamp", "target"):
        column = getattr(labels, field)
        if column not in info.columns:
            problems.append(DataError(f"{field} column '{column}' is not in {about}; available: {available}", key=f"features.labels.{field}", column=column))
    if labels.timestamp in info.columns and not accepts(Dtype.timestamp, info.columns[labels.timestamp]):
        problems.append(
            DataError(
                f"timestamp column '{labels.timestamp}' of {about} is {info.columns[labels.timestamp]}, expected a timestamp",
                key="features.labels.timestamp",
                column=labels.timestamp,
            )
        )
    entities = repo.features.entities
    joined = [(f"feature view '{name}' joins on", view.entity) for name, view in repo.features.views.items()]
    if all(view.entity != labels.entity for view in repo.features.views.values()):
        joined.append(("the labels (features.labels.entity) name", labels.entity))
    for who, entity in joined:
        for key in entities[entity].join_keys if entity in entities else ():
            if key not in info.columns:
                problems.append(
                    DataError(
                        f"{who} key '{key}' of entity '{entity}', which is not a column of {about}: the labels must carry "
                        f"the join keys of every view's entity; available: {available}",
                        key="features.labels.source",
                        column=key,
                    )
                )
    return problems


def listed(problems: Sequence[DataError], where: Callable[[str], str] | None = None) -> DataError:
    """One DataError listing every problem, each with its key (and, given ``where``, the config file it came from)."""
    lines = [f"the data does not match the config: {len(problems)} problem{'s' if len(problems) != 1 else ''}"]
    lines += [f"  {p.key} ({where(p.key)}): {p}" if where else f"  {p.key}: {p}" for p in problems]
    first = problems[0]
    return DataError("\n".join(lines), key=first.key, column=first.column, path=first.path)


def describe_files(repo: FeatureRepo, name: str) -> str:
    """Where a source is read from, for messages: its file, its glob and file count, or 'a query'."""
    spec = repo.data.sources[name]
    if spec.query is not None:
        return "a DuckDB query"
    pattern = os.path.join(repo.data.dir, spec.path or "")
    files = sorted(glob.glob(pattern))
    return files[0] if len(files) == 1 and files[0] == pattern else f"{pattern}: {len(files)} file(s)"


def _readable(repo: FeatureRepo, name: str) -> bool:
    """Whether a file source's files are there, under data.dir (else create_source_view says why not)."""
    try:
        return bool(repo.source_files(name))
    except DataError:
        return False


class _Described:
    """The sources registered on ``con`` so far (None: not readable) and the problems found on the way."""

    def __init__(self, con, repo: FeatureRepo, skip_unreadable: bool) -> None:
        self.con, self.repo, self.skip_unreadable = con, repo, skip_unreadable
        self.infos: dict[str, SourceInfo | None] = {}
        self.problems: list[DataError] = []

    def info(self, name: str) -> SourceInfo | None:
        """Register source ``name`` (the sources its query names first), check its declared columns and return
        what it holds; None when it cannot be read (why is in ``problems``, unless skipped)."""
        if name in self.infos:
            if self.infos[name] is _PENDING:
                self.problems.append(DataError(f"source '{name}' reads itself through its query", key=f"data.sources.{name}.query"))
                self.infos[name] = None
            return self.infos[name]
        self.infos[name] = _PENDING
        self.infos[name] = info = self._register(name)
        return info

    def _register(self, name: str) -> SourceInfo | None:
        spec, where = self.repo.data.sources[name], describe_files(self.repo, name)
        named = [other for other in self.repo.data.sources if other != name and mentions(spec.query, other)] if spec.query else []
        if not all([self.info(other) for other in named]):
            return None  # what it reads cannot be read: reported there (or skipped)
        try:
            columns = create_source_view(self.con, self.repo, name)
        except DataError as error:
            if spec.query is not None:
                reads = "; ".join(f"'{other}' has {', '.join(self.infos[other].columns)}" for other in named)
                cause = str(error.__cause__ or error).strip().splitlines()[0]
                message = f"source '{name}': its query (data.sources.{name}.query) does not compile: {cause}" + (f"; {reads}" if reads else "")
                self.problems.append(DataError(message, key=f"data.sources.{name}.query"))
            elif not self.skip_unreadable:
                self.problems.append(error if error.path else DataError(f"{error} (read from {where})", key=error.key, path=where))
            return None
        for problem in column_problems(name, spec, columns):
            self.problems.append(DataError(f"{problem} (read from {where})", key=problem.key, column=problem.column, path=where))
        return SourceInfo(name, columns, spec.timestamp is not None and columns.get(spec.timestamp) == "TIMESTAMP WITH TIME ZONE")
