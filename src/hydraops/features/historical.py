"""Point-in-time-correct joins: for each entity row and time t, every feature as it was known at t.

One DuckDB ASOF join per view against its timeline in the offline store (see docs/concepts/feature-store.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as default_field
from datetime import datetime

from hydraops.errors import FeatureStoreError
from hydraops.features import offline
from hydraops.features.aggregates import aggregates_at_sql, choose_direct
from hydraops.features.materialize import us
from hydraops.features.progress import Report, watching
from hydraops.features.repo import FeatureRepo
from hydraops.features.sources import confine, connect, database, literal, quote
from hydraops.features.table_writer import write_counting


@dataclass(frozen=True)
class ViewJoinReport:
    """Per view: entity rows that found no feature row, and rows whose value had expired (TTL)."""

    missing: int
    expired: int


@dataclass(frozen=True)
class HistoricalFeatures:
    frame: object  # pandas.DataFrame: the entity rows, in order, with one column per feature
    report: dict[str, ViewJoinReport]
    unserved: dict[str, object] = default_field(default_factory=dict)  # view → boolean Series (frame's index): no value found, or expired


def get_historical_features(repo: FeatureRepo, entity_df, *, timestamp_column: str, features: Sequence[str] | None = None) -> HistoricalFeatures:
    """Join every requested feature (all by default) onto ``entity_df`` as of each row's timestamp.

    The result has ``entity_df``'s rows in the same order and count, its columns, then the features.
    """
    import duckdb
    import pandas as pd

    plan = _plan(repo, list(entity_df.columns), timestamp_column, features)
    _check_timestamps(repo, entity_df, timestamp_column, plan)
    con = connect(repo.memory_limit)
    confine(con, repo)  # reads the offline store only
    entities = entity_df.reset_index(drop=True)
    con.register("__entity_df", entities)
    con.execute("CREATE TEMP VIEW __entities AS SELECT *, row_number() OVER () - 1 AS __row FROM __entity_df")
    query = join_sql(con, repo, plan, "__entities", timestamp_column, side=f"entity rows column '{timestamp_column}'")
    try:
        joined = con.execute(query).df()
    except duckdb.Error as error:
        raise FeatureStoreError(f"cannot join features onto the entity rows: {str(error).splitlines()[0]}") from error
    report = {view: ViewJoinReport(int(joined[f"__missing_{i}"].sum()), int(joined[f"__expired_{i}"].sum())) for i, view in enumerate(plan)}
    columns = [name for names in plan.values() for name in names]
    frame = pd.concat([entity_df.reset_index(drop=True), joined[columns]], axis=1)
    frame.index = entity_df.index
    unserved = {
        view: pd.Series((joined[f"__missing_{i}"] | joined[f"__expired_{i}"]).to_numpy(dtype=bool), index=entity_df.index) for i, view in enumerate(plan)
    }
    return HistoricalFeatures(frame, report, unserved)


def join_sql(
    con,
    repo: FeatureRepo,
    plan: dict[str, list[str]],
    entities: str,
    timestamp_column: str,
    *,
    side: str,
    carry: Sequence[str] = (),
    timestamp_type: str | None = None,
) -> str:
    """SQL: per entity row of ``entities`` (which has ``__row``), in row order, its ``carry`` columns, a
    missing and an expired flag per view, and every planned feature, TTL applied: a row view by an ASOF
    join on its timeline, an aggregation view by its aggregates computed at the rows' instants.

    Every point-in-time join is planned here, so here naive and aware timestamps, and instants outside the
    range a view was materialized for, are refused (``side`` names the entity timestamp column, whose DuckDB
    type is ``timestamp_type`` when known)."""
    _check_time_kinds(con, repo, plan, entities, timestamp_column, side, timestamp_type)
    selects, joins, outer = [f"e.{quote(c)}" for c in carry], [], [quote(c) for c in carry]
    for i, (view, names) in enumerate(plan.items()):
        manifest, spec = offline.current_manifest(repo.offline_dir, view), repo.view(view)
        glob = literal(offline.timeline_glob(repo.offline_dir, view))
        t = f"epoch_us(e.{quote(timestamp_column)})" + ("" if spec.include_current else " - 1")
        _check_range(con, manifest, entities, t, timestamp_column, side)
        alias = f"v{i}"
        on = " AND ".join(f"e.{quote(k)} = {alias}.{quote(k)}" for k in manifest.join_keys)
        if manifest.layout == offline.EVENTS:
            requests = f"(SELECT {', '.join(quote(k) for k in manifest.join_keys)}, {t} AS __t FROM {entities} e)"
            events = f"read_parquet({glob})"
            direct = choose_direct(spec, manifest.rows, manifest.entities, manifest.span_us)
            aggregates = aggregates_at_sql(
                spec, manifest.join_keys, events, requests, manifest.late_us or 0, direct=direct, scales=manifest.sum_scales(), ttl_us=manifest.ttl_us
            )
            joins.append(f"LEFT JOIN ({aggregates}) {alias} ON {on} AND {alias}.__t = {t}")
            missing = f"NOT coalesce({alias}.__seen, false)"
            older = f"{alias}.__feature_ts IS NULL OR "  # seen, but older than the rows joined: older than the TTL
        else:
            joins.append(f"ASOF LEFT JOIN read_parquet({glob}) {alias} ON {on} AND {t} >= {alias}.__valid_from")
            missing, older = f"{alias}.__valid_from IS NULL", ""
        expired = "false" if manifest.ttl_us is None else f"coalesce(NOT ({missing}) AND ({older}{t} - {alias}.__feature_ts > {manifest.ttl_us}), false)"
        selects += [f"{missing} AS __missing_{i}", f"{expired} AS __expired_{i}", *(f"{alias}.{quote(n)}" for n in names)]
        outer += [f"__missing_{i}", f"__expired_{i}"]
        outer += [f"if(__missing_{i} OR __expired_{i}, NULL, {quote(n)}) AS {quote(n)}" for n in names]
    inner = f"SELECT e.__row, {', '.join(selects)} FROM {entities} e {' '.join(joins)}"
    return f"SELECT {', '.join(outer)} FROM ({inner}) ORDER BY __row"


def _check_range(con, manifest: offline.Manifest, entities: str, t: str, column: str, side: str) -> None:
    """A FeatureStoreError when entity rows fall outside the range the view was materialized for (its
    values there would be stale): before its ``start``, or from its ``end`` on when the end cut changes off."""
    start = None if manifest.start is None else us(datetime.fromisoformat(manifest.start))
    end = None if manifest.end is None else us(datetime.fromisoformat(manifest.end))
    if end is not None and manifest.last_change_us is not None and end >= manifest.last_change_us:
        end = None  # nothing changes after the end: the bound cut nothing off
    if start is None and end is None:
        return
    outside = " OR ".join(c for c in [start is not None and f"{t} < {start}", end is not None and f"{t} > {end}"] if c)
    count, first = con.execute(f"SELECT count(*), min(e.{quote(column)}) FROM {entities} e WHERE {outside}").fetchall()[0]
    if count:
        raise FeatureStoreError(
            f"{count} row(s) of the {side} (the first at {first.isoformat()}) fall outside the range feature view "
            f"'{manifest.view}' was materialized for ({manifest.start or 'the beginning'} to {manifest.end or 'the end'}); "
            "its values there would be stale: run `hydraops features materialize` with a range covering them, or without start/end",
            key=f"features.views.{manifest.view}",
        )


def _plan(
    repo: FeatureRepo,
    columns: list[str],
    timestamp_column: str,
    features: Sequence[str] | None,
    *,
    rows: str = "the entity rows",
    carried: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """View → the features wanted from it (all by default). Refused: an unknown feature, a view whose
    entity's join keys ``rows`` lack (named with the view and its entity), a feature named like one of the
    ``carried`` columns (default: every column)."""
    if timestamp_column not in columns:
        raise FeatureStoreError(f"{rows} have no timestamp column '{timestamp_column}'; columns: {', '.join(columns)}", column=timestamp_column)
    by_name = {n: view for view, spec in repo.features.views.items() for n in spec.feature_names()}
    wanted = list(by_name) if features is None else list(features)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise FeatureStoreError(f"unknown feature(s) {', '.join(unknown)}; declared: {', '.join(by_name)}")
    plan: dict[str, list[str]] = {}
    for name in wanted:
        plan.setdefault(by_name[name], []).append(name)
    for view in plan:
        entity = repo.view(view).entity
        for key in repo.join_keys(view):
            if key not in columns:
                raise FeatureStoreError(
                    f"{rows} lack column '{key}', join key of entity '{entity}' (features.entities.{entity}.join_keys), "
                    f"which feature view '{view}' is keyed by: every view's keys must be in the rows its features are joined to; "
                    f"columns: {', '.join(columns)}",
                    key=f"features.views.{view}.entity",
                    column=key,
                )
    clashes = [n for n in wanted if n in (columns if carried is None else carried)]
    if clashes:
        raise FeatureStoreError(f"{rows} already have column(s) named like features: {', '.join(clashes)}")
    return plan


def _require_columns(labels, keys: Sequence[str], columns: list[str]) -> None:
    """The keys of the labels' entity, their timestamp, target and request-time features are columns of the labels source."""
    wanted = [
        *(("entity", k) for k in keys),
        ("timestamp", labels.timestamp),
        ("target", labels.target),
        *((f"features[{i}]", c) for i, c in enumerate(labels.features)),
    ]
    for field, column in wanted:
        if column not in columns:
            raise FeatureStoreError(
                f"features.labels.{field}: '{column}' is not a column of the labels source '{labels.source}'; columns: {', '.join(columns)}",
                key=f"features.labels.{field.split('[')[0]}",
                column=column,
            )


def _check_timestamps(repo: FeatureRepo, entity_df, column: str, plan: dict[str, list[str]]) -> None:
    import pandas as pd

    series = entity_df[column]
    if not pd.api.types.is_datetime64_any_dtype(series):
        raise FeatureStoreError(f"entity timestamp column '{column}' is {series.dtype}, expected datetimes", column=column)
    for view in plan:
        if offline.current_manifest(repo.offline_dir, view) is None:
            offline.timeline_glob(repo.offline_dir, view)  # raises: not materialized
    if series.isna().any():
        raise FeatureStoreError(f"entity timestamp column '{column}' has {int(series.isna().sum())} null value(s)")


def _check_time_kinds(con, repo: FeatureRepo, plan: dict[str, list[str]], entities: str, column: str, side: str, dtype: str | None = None) -> None:
    """A FeatureStoreError naming both columns when ``side`` (``entities.column``) and a view's timeline
    differ in kind (naive vs timezone-aware): comparing them would silently shift one by the UTC offset."""
    if dtype is None:  # the column's DuckDB type, unless known
        [(_, dtype, *_)] = con.execute(f"DESCRIBE SELECT {quote(column)} FROM {entities}").fetchall()
    aware = dtype == "TIMESTAMP WITH TIME ZONE"
    said = {True: "timezone-aware", False: "naive"}
    for view in plan:
        manifest = offline.current_manifest(repo.offline_dir, view)
        if manifest is None or manifest.tz_aware is None or manifest.tz_aware == aware:
            continue  # not materialized (join_sql's timeline_glob says so), static, or the same kind
        source = repo.view(view).source
        raise FeatureStoreError(
            f"{side} is {said[aware]} but view '{view}' has {said[manifest.tz_aware]} timestamps (source '{source}' "
            f"column '{repo.data.sources[source].timestamp}'): declare both sides the same kind, or convert one "
            f"(declare the zone of a naive source: data.sources.<source>.timezone, e.g. 'America/New_York'; in pandas: "
            ".dt.tz_localize('<its zone>')); they are never compared shifted",
            column=column,
        )


@dataclass(frozen=True)
class TrainingTable:
    path: str
    rows: int
    report: dict[str, ViewJoinReport]
    warnings: tuple[str, ...] = ()  # failed checks of the labels source (features.validation: warn)


def build_training_table(repo: FeatureRepo, path: str, report: Report | None = None) -> TrainingTable:
    """The labels (``features.labels``) joined with every feature, point in time, written as parquet.

    Runs wholly in DuckDB, on a connection of the repo's shared database: the labels source and the
    timelines are read from parquet, never loaded into pandas (the file is written by pyarrow, not DuckDB).
    """
    labels = repo.features.labels
    if labels is None:
        raise FeatureStoreError("no labels declared (features.labels): a training table is built on them")
    with database(repo, [labels.source]).connection() as con:
        return _build(con, repo, path, report)


def _build(con, repo: FeatureRepo, path: str, report: Report | None) -> TrainingTable:
    import duckdb

    from hydraops.features.sources import register_source

    labels = repo.features.labels
    info = register_source(con, repo, labels.source)
    _require_columns(labels, repo.features.entities[labels.entity].join_keys, list(info.columns))
    keys = [*repo.features.entities[labels.entity].join_keys, *(k for view in repo.features.views for k in repo.join_keys(view))]
    carried = list(dict.fromkeys([*keys, labels.timestamp, labels.target, *labels.features]))
    plan = _plan(repo, list(info.columns), labels.timestamp, None, rows=f"the labels source '{labels.source}'", carried=carried)
    warnings = _label_failures(con, repo, info.columns)
    columns = ", ".join(quote(c) for c in carried)
    con.execute(f"CREATE OR REPLACE TEMP VIEW __entities AS SELECT {columns}, row_number() OVER (ORDER BY __seq) - 1 AS __row FROM {quote(labels.source)}")
    side = f"labels source '{labels.source}' column '{labels.timestamp}'"
    query = join_sql(con, repo, plan, "__entities", labels.timestamp, side=side, carry=carried, timestamp_type=info.columns[labels.timestamp])
    features = [n for names in plan.values() for n in names]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        with watching(con, "training table: joining features", report):
            rows, tallies = write_counting(con, query, path, [*carried, *features], len(plan))
    except duckdb.Error as error:
        raise FeatureStoreError(f"cannot build the training table: {str(error).splitlines()[0]}") from error
    report = {view: ViewJoinReport(tallies[2 * i], tallies[2 * i + 1]) for i, view in enumerate(plan)}
    return TrainingTable(path, rows, report, warnings)


def _label_failures(con, repo: FeatureRepo, types: dict[str, str]) -> tuple[str, ...]:
    """The labels source's failed checks; a DataError (nothing written) under ``features.validation: strict``."""
    from hydraops.config.schemas import ValidationMode
    from hydraops.errors import DataError
    from hydraops.features.validation import source_failures

    source = repo.features.labels.source
    failures = tuple(f"source '{source}': {failure}" for failure in source_failures(con, repo, source, types))
    if failures and repo.features.validation is ValidationMode.strict:
        raise DataError(
            f"the labels source '{source}' (features.labels.source) failed its checks (data.sources.{source}.columns, "
            "features.validation: strict); no training table was written:\n  " + "\n  ".join(failures),
            key=f"data.sources.{source}.columns",
        )
    return failures
