"""A view's timeline in DuckDB SQL: per entity, each instant its value changes, and the value from then on.

Timeline columns: the join keys, ``__valid_from`` and ``__feature_ts`` (epoch microseconds, UTC), then
one column per feature. The value at any t is the timeline row with the greatest ``__valid_from`` ≤ t
(see docs/concepts/feature-store.md for the rules this encodes).
"""

from __future__ import annotations

from hydraops.config.schemas import AggFunc, FeatureViewSpec, SourceSpec
from hydraops.errors import DataError
from hydraops.features.repo import to_us
from hydraops.features.sources import SourceInfo, quote

#: Floating-point sums depend on the order of their terms: they run in event order, so that the same data
#: gives the same bits on every materialization (a reproduced model must be bit-identical).
_ORDER = "ORDER BY e.__ts, e.__seq"
_AGG_SQL = {
    AggFunc.sum: f"coalesce(sum({{c}} {_ORDER}) FILTER ({{w}}), 0)",
    AggFunc.count: "count({c}) FILTER ({w})",
    AggFunc.mean: f"avg({{c}} {_ORDER}) FILTER ({{w}})",
    AggFunc.min: "min({c}) FILTER ({w})",
    AggFunc.max: "max({c}) FILTER ({w})",
    AggFunc.std: f"stddev_samp({{c}} {_ORDER}) FILTER ({{w}})",
}


def events_sql(source: SourceSpec, info: SourceInfo, keys: list[str], columns: list[str]) -> str:
    """Source rows with times in epoch µs: ``__ts`` (event), ``__created`` and ``__avail`` (visible from)."""
    if source.timestamp is None:
        raise DataError(f"source '{info.name}' has no timestamp column (data.sources.{info.name}.timestamp)")
    ts = f"epoch_us({quote(source.timestamp)})"
    # A row with no created timestamp is known from its event time.
    created = f"coalesce(epoch_us({quote(source.created_timestamp)}), {ts})" if source.created_timestamp else ts
    selected = ", ".join([*(quote(k) for k in keys), *columns])
    return (
        f"SELECT {selected}, {ts} AS __ts, {created} AS __created, greatest({ts}, {created}) AS __avail, __seq FROM {quote(info.name)} WHERE {ts} IS NOT NULL"
    )


def row_timeline_sql(view: FeatureViewSpec, source: SourceSpec, info: SourceInfo, keys: list[str]) -> str:
    """Row-level view: at each instant a row becomes visible, the visible row with the greatest
    (event ts, created ts, source order) is current."""
    names = list(view.features)
    expressions = [f"({view.features[n].expr}) AS {quote(n)}" for n in names]
    key_list = ", ".join(quote(k) for k in keys)
    packed = ", ".join([*(f"{literal_key(n)}: {quote(n)}" for n in names), "'__feature_ts': __ts"])
    current = (
        f"arg_max({{{packed}}}, {{'ts': __ts, 'created': __created, 'seq': __seq}}) OVER (PARTITION BY {key_list} ORDER BY __avail RANGE UNBOUNDED PRECEDING)"
    )
    unpacked = ", ".join([f"__row.{quote(n)} AS {quote(n)}" for n in names])
    return f"""
        WITH events AS ({events_sql(source, info, keys, expressions)}),
        current AS (SELECT {key_list}, __avail, {current} AS __row FROM events)
        SELECT DISTINCT ON ({key_list}, __avail)
            {key_list}, __avail AS __valid_from, __row.__feature_ts AS __feature_ts, {unpacked}
        FROM current
    """


def aggregation_timeline_sql(view: FeatureViewSpec, source: SourceSpec, info: SourceInfo, keys: list[str]) -> str:
    """Aggregation view: values change when an event becomes visible and when it leaves a window
    (event ts + w); at each such instant every aggregate is computed over its window (t − w, t]."""
    key_list = ", ".join(quote(k) for k in keys)
    columns = sorted({a.column for a in view.aggregations})
    windows = sorted({to_us(w) for a in view.aggregations for w in a.windows})
    on_keys = " AND ".join(f"e.{quote(k)} = c.{quote(k)}" for k in keys)
    # each `where` is evaluated once per source row; only rows where it is true count toward its aggregation
    filters = {i: f"__where_{i}" for i, a in enumerate(view.aggregations) if a.where is not None}
    selected = [quote(c) for c in columns] + [f"({view.aggregations[i].where}) AS {name}" for i, name in filters.items()]
    aggregates = []
    for i, aggregation in enumerate(view.aggregations):
        for func in aggregation.agg:
            for window in aggregation.windows:
                name = f"{aggregation.column}_{func.value}_{window}"
                condition = f"WHERE e.__ts > c.__c - {to_us(window)}" + (f" AND e.{filters[i]}" if i in filters else "")
                aggregates.append(f"{_AGG_SQL[func].format(c=f'e.{quote(aggregation.column)}', w=condition)} AS {quote(name)}")
    leaving = " UNION ".join(f"SELECT {key_list}, __ts + {w} AS __c FROM events" for w in windows)
    c_keys = ", ".join(f"c.{quote(k)}" for k in keys)
    return f"""
        WITH events AS ({events_sql(source, info, keys, selected)}),
        changes AS (SELECT {key_list}, __avail AS __c FROM events UNION {leaving}),
        latest AS (
            SELECT DISTINCT ON ({key_list}, __avail) {key_list}, __avail,
                max(__ts) OVER (PARTITION BY {key_list} ORDER BY __avail RANGE UNBOUNDED PRECEDING) AS __latest
            FROM events
        ),
        points AS (
            SELECT c.*, l.__latest AS __feature_ts
            FROM changes c ASOF JOIN latest l ON {" AND ".join(f"c.{quote(k)} = l.{quote(k)}" for k in keys)} AND c.__c >= l.__avail
        ),
        windowed AS (
            SELECT {c_keys}, c.__c, any_value(c.__feature_ts) AS __feature_ts, {", ".join(aggregates)}
            FROM points c LEFT JOIN events e
              ON {on_keys} AND e.__ts <= c.__c AND e.__ts > c.__c - {max(windows)} AND e.__created <= c.__c
            GROUP BY ALL
        )
        SELECT {key_list}, __c AS __valid_from, __feature_ts, * EXCLUDE ({key_list}, __c, __feature_ts) FROM windowed
    """


def literal_key(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"
