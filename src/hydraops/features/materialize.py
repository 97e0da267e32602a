"""``features materialize``: each view's timeline into the offline store, latest values to the online store.

The engine (compute, check and publish one timeline) and :func:`materialize`, the features stage planned
and applied (:mod:`hydraops.features.stage` decides what to do).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hydraops.config.schemas import ValidationMode
from hydraops.errors import DataError
from hydraops.features import offline
from hydraops.features.checks import check_view_rows, require_view_inputs
from hydraops.features.events import EventsSummary, last_change_aggregate, last_change_sql, summarize, view_events_sql
from hydraops.features.progress import Report, execute
from hydraops.features.repo import FeatureRepo, file_digest, ttl_us
from hydraops.features.sources import database, literal, opening, quote, register_source
from hydraops.features.timeline import row_timeline_sql
from hydraops.features.validation import check_relation


@dataclass(frozen=True)
class ViewResult:
    view: str
    version: str
    status: str  # "materialized" or "up to date"
    rows: int
    entities: int
    warnings: tuple[str, ...] = ()
    pushed: int | None = None


@dataclass(frozen=True)
class MaterializeReport:
    views: list[ViewResult] = field(default_factory=list)
    results: list = field(default_factory=list)  # the executed plan: one hydraops.plan.Result per action


def materialize(
    repo: FeatureRepo,
    *,
    views: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    online=None,  # an OnlineStore: latest values are pushed there when given
    now: datetime | None = None,
    force: bool = False,
    ctx=None,  # a RunContext, handed to the handlers (the features stage needs none)
) -> MaterializeReport:
    """Plan the features stage for the given views (all by default), then apply it: a view is computed
    when its version or date range is not there yet, or its current files no longer match their manifest;
    ``online`` gets what it does not hold yet (see :mod:`hydraops.features.stage`).

    ``start``/``end`` bound the rows kept (timelines: from ``start``, plus each entity's last row before it so
    values inside the range stay exact). Latest values are those at ``now`` (default ``end``, else the
    time of the push). ``force`` recomputes every view and pushes it, whatever is there.
    """
    from hydraops.features.stage import plan_views
    from hydraops.plan import Plan, apply

    with opening(repo):  # the database the views are computed in opens while they are planned
        actions = plan_views(repo, views=views, start=start, end=end, force=force, online=online, now=now)
    return report(repo, apply(Plan("features", tuple(actions)), ctx))


def report(repo: FeatureRepo, results: list) -> MaterializeReport:
    """Per view: what materializing did (or the CURRENT timeline, when it was up to date) and the rows pushed."""
    from hydraops.features.stage import MaterializeView, PushOnline
    from hydraops.plan import Outcome

    pushed = next((r.value for r in results if isinstance(r.action, PushOnline) and r.outcome is Outcome.done), {})
    views = []
    for result in results:
        if isinstance(result.action, MaterializeView):
            view = result.value if result.outcome is Outcome.done else _up_to_date(repo, result.action.view)
            views.append(replace(view, pushed=pushed.get(view.view)))
    return MaterializeReport(views, results)


def _up_to_date(repo: FeatureRepo, name: str) -> ViewResult:
    current = offline.current_manifest(repo.offline_dir, name)
    return ViewResult(name, current.version, "up to date", current.rows, current.entities, tuple(current.warnings))


def compute_view(repo: FeatureRepo, name: str, version: str, start: datetime | None, end: datetime | None, report: Report | None = None) -> ViewResult:
    """Compute the view's timeline (or events) from its sources, check it and publish it as ``version``
    (made CURRENT), on connections of the repo's shared database; long statements tell ``report`` how far they
    are. While the view is written, a second connection checks the source's rows and, for an aggregation view,
    summarizes its events (read from the source as they are written)."""
    view = repo.view(name)
    db = database(repo, [view.source])
    with db.connection() as con, db.connection() as side, ThreadPoolExecutor(1, thread_name_prefix=f"hydraops-{name}") as beside:
        info = register_source(con, repo, view.source)
        require_view_inputs(con, repo, name, info)
        side_info = beside.submit(register_source, side, repo, view.source)  # the tasks run in turn, on ``side``
        checked = beside.submit(lambda: check_view_rows(side, repo, name, side_info.result()))
        summarized = beside.submit(lambda: _summarize_events(side, repo, name, side_info.result(), end)) if view.aggregations else None
        staging = offline.staging_dir(repo.offline_dir, name)
        try:
            return _compute(con, repo, name, version, start, end, report, info, staging, checked, summarized)
        except BaseException:
            offline.discard(staging)
            raise


def _compute(con, repo: FeatureRepo, name: str, version: str, start, end, report, info, staging, checked, summarized) -> ViewResult:
    """compute_view's work once the source is registered (``checked``, ``summarized``: futures of the side tasks)."""
    view, keys, source = repo.view(name), repo.join_keys(name), repo.data.sources[repo.view(name).source]
    if view.aggregations:  # its events; the aggregates are computed where they are asked for
        layout, start = offline.EVENTS, None
        _write_events(con, view, source, info, keys, staging, end, report)
        summary = summarized.result()
        rows, entities, last_change = summary.rows, summary.entities, summary.also
        events = {"late_us": summary.late_us, "span_us": summary.span_us, "scales": {str(i): s for i, s in summary.scales.items()}}
    else:
        layout, events = offline.TIMELINE, {}
        rows, entities, last_change = _write_timeline(con, row_timeline_sql(view, source, info, keys), keys, staging, start, end, report)
    warnings = [f"source '{view.source}': {failure}" for failure in checked.result()]
    feature_checks = {n: f for n, f in view.features.items() if f.ge is not None or f.le is not None or f.isin is not None or not f.nullable}
    staged = f"read_parquet({literal(str(staging / '*.parquet'))})"
    warnings += [f"view '{name}': {failure}" for failure in check_relation(con, staged, feature_checks, key=f"features.views.{name}.features")]
    if warnings and repo.features.validation is ValidationMode.strict:
        raise DataError(
            f"feature view '{name}' failed validation (features.validation: strict); nothing was published:\n  " + "\n  ".join(warnings),
            key="features.validation",
        )
    manifest = offline.Manifest(
        view=name, version=version, layout=layout, join_keys=keys, features=view.feature_names(), ttl_us=ttl_us(view),
        tz_aware=info.tz_aware if source.timestamp else None, start=iso(start), end=iso(end), rows=rows, entities=entities,
        created_at=datetime.now(UTC).isoformat(), last_change_us=last_change,
        sources={path: file_digest(path) for s in repo.view_sources(name) for path in repo.source_files(s)},
        warnings=warnings, **events,
    )  # fmt: skip
    offline.publish(repo.offline_dir, staging, manifest)
    return ViewResult(name, version, "materialized", rows, entities, tuple(warnings))


def _write_timeline(con, timeline: str, keys: list[str], staging, start, end, report: Report | None) -> tuple[int, int, int | None]:
    """Write the row view's timeline (bounded to [start, end] plus each entity's last row before start)
    as one parquet file; returns its rows, its entities and the unbounded timeline's last change."""
    key_list = ", ".join(quote(k) for k in keys)
    order, path = [*keys, "__valid_from"], staging / offline.TIMELINE_FILE
    if start is None and end is None:  # written as computed: its last change is the file's
        _write_sorted(con, f"({timeline})", order, path, report)
        return _counts(con, path, keys, also="max(__valid_from)")
    execute(con, f"CREATE OR REPLACE TEMP TABLE __full AS {timeline}", what=f"materialize {staging.parent.name}: timeline", report=report)
    last_change = con.execute("SELECT max(__valid_from) FROM __full").fetchall()[0][0]
    start_us = us(start) if start else -(2**62)
    end_us = us(end) if end else 2**62
    bounded = f"""
        SELECT * FROM __full WHERE __valid_from >= {start_us} AND __valid_from <= {end_us}
        UNION ALL
        SELECT * FROM (SELECT DISTINCT ON ({key_list}) * FROM __full WHERE __valid_from < {start_us}
                       ORDER BY {key_list}, __valid_from DESC)
    """
    _write_sorted(con, f"({bounded})", order, path, report)
    rows, entities, _ = _counts(con, path, keys)
    con.execute("DROP TABLE __full")
    return rows, entities, last_change


def _write_events(con, view, source, info, keys: list[str], staging, end, report: Report | None) -> None:
    """Write the aggregation view's events visible by ``end`` as one parquet file sorted by entity and time
    (streamed: DuckDB's sort spills when it must)."""
    events = f"({view_events_sql(view, source, info, keys, None if end is None else us(end))})"
    _write_sorted(con, events, [*keys, "__ts", "__seq"], staging / offline.EVENTS_FILE, report)


def _summarize_events(con, repo: FeatureRepo, name: str, info, end) -> EventsSummary:
    """The summary of the aggregation view's events visible by ``end`` (as :func:`_write_events` writes them),
    whose ``also`` is the last instant an aggregate changes, by ``end`` or not."""
    view, keys, source = repo.view(name), repo.join_keys(name), repo.data.sources[repo.view(name).source]
    events = f"({view_events_sql(view, source, info, keys, None if end is None else us(end))})"
    if end is None:  # every event is written: the last change is theirs
        return summarize(con, view, keys, events, also=last_change_aggregate(view))
    summary = summarize(con, view, keys, events)
    last_change = con.execute(last_change_sql(view, f"({view_events_sql(view, source, info, keys)})")).fetchall()[0][0]
    return replace(summary, also=last_change)


#: How the store's files are written: parquet 2 encodings (delta-packed integers and times) and no dictionaries,
#: which DuckDB would otherwise try on every column and mostly give up on (half the time of its defaults), in
#: row groups of 30,720 rows: DuckDB reads a file a row group per thread, so a join over a 170k-row file keeps
#: both cores busy to the end (with 122,880-row groups one thread has 72 % of the rows; the join ~10 % slower).
_PARQUET = "FORMAT parquet, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT 0, ROW_GROUP_SIZE 30720"


def _write_sorted(con, query: str, order: list[str], path, report: Report | None) -> None:
    """COPY ``query`` ordered by ``order`` to the parquet file ``path``."""
    copy = f"COPY (SELECT * FROM {query} ORDER BY {', '.join(quote(c) for c in order)}) TO {literal(str(path))} ({_PARQUET})"
    execute(con, copy, what=f"materialize {path.parent.parent.name}: {path.name}", report=report)


def _counts(con, path, keys: list[str], also: str = "NULL") -> tuple[int, int, object]:
    """The rows of the parquet file ``path``, its distinct keys and the aggregate ``also`` over it."""
    key_list = ", ".join(quote(k) for k in keys)
    return con.execute(f"SELECT count(*), count(DISTINCT ({key_list})), {also} FROM read_parquet({literal(str(path))})").fetchall()[0]


def covers(manifest: offline.Manifest, start: datetime | None, end: datetime | None) -> bool:
    """Whether the published timeline already holds every row [start, end) asks for: its bounds are at
    least as wide, or they cut nothing off (an end after the timeline's last change)."""
    starts_early = manifest.start is None or (start is not None and manifest.start <= iso(start))
    ends_late = (
        manifest.end is None
        or (end is not None and manifest.end >= iso(end))
        or (manifest.last_change_us is not None and us(datetime.fromisoformat(manifest.end)) >= manifest.last_change_us)
    )
    return starts_early and ends_late


def us(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
