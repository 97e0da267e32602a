"""Aggregation views in DuckDB SQL: the view's events, and its aggregates computed at requested instants.

The offline store keeps an aggregation view as its *events* (one row per source row: the join keys,
``__ts``, ``__avail``, ``__seq`` and ``__v<i>``, the value aggregation ``i`` counts, null where its
``where`` is not true). Aggregates are computed where a consumer asks for them — the label instants of a
training table, the rows of a scoring input, the instant of an online push — never at every change point.

How (docs/concepts/feature-store.md states the values this must give):

* Events and requests are sorted together per entity by ``(event time, then source order)``, a request
  after the events stamped at its instant. Each window is a ``RANGE`` frame over that order, so one sort
  serves every aggregate: time and memory near O((events + requests) log), bounded by DuckDB's sort.
  The sort key is unique, so floating-point sums run in one fixed order: the same data, the same bits.
* A request is *clean* when every event stamped at or before it is already visible (created ≤ t): its
  frame is exactly what the contract counts. A request with a late event still pending (created after
  t) is answered by a direct join against the events it can see; late rows are few at any one instant.
"""

from __future__ import annotations

from hydraops.config.schemas import AggFunc, FeatureViewSpec, SourceSpec
from hydraops.features.repo import to_us
from hydraops.features.sources import SourceInfo, quote
from hydraops.features.timeline import events_sql

#: Sort key of a row: event time in the high 64 bits, source order (events) or 2^64 − 1 (requests) below.
_SLOT = "18446744073709551616::HUGEINT"
_WINDOW = {
    AggFunc.sum: "coalesce(sum({v}) OVER {w}, 0)",
    AggFunc.count: "count({v}) OVER {w}",
    AggFunc.mean: "avg({v}) OVER {w}",
    AggFunc.min: "min({v}) OVER {w}",
    AggFunc.max: "max({v}) OVER {w}",
    AggFunc.std: "stddev_samp({v}) OVER {w}",
}
#: The same aggregates over joined rows, in event order (a fixed order: the same bits on every run).
_ORDER = "ORDER BY e.__ts, e.__seq"
_JOINED = {
    AggFunc.sum: f"coalesce(sum({{v}} {_ORDER}) FILTER ({{w}}), 0)",
    AggFunc.count: "count({v}) FILTER ({w})",
    AggFunc.mean: f"avg({{v}} {_ORDER}) FILTER ({{w}})",
    AggFunc.min: "min({v}) FILTER ({w})",
    AggFunc.max: "max({v}) FILTER ({w})",
    AggFunc.std: f"stddev_samp({{v}} {_ORDER}) FILTER ({{w}})",
}


def view_events_sql(view: FeatureViewSpec, source: SourceSpec, info: SourceInfo, keys: list[str], end_us: int | None = None) -> str:
    """The view's events: keys, ``__ts``, ``__avail``, ``__seq`` and ``__v<i>`` per aggregation; rows visible
    only after ``end_us`` are left out (they count for no instant up to it)."""
    values = []
    for i, aggregation in enumerate(view.aggregations):
        column = quote(aggregation.column)
        values.append(f"CASE WHEN ({aggregation.where}) THEN {column} END AS __v{i}" if aggregation.where else f"{column} AS __v{i}")
    key_list = ", ".join(quote(k) for k in keys)
    bounded = "" if end_us is None else f" WHERE __avail <= {end_us}"
    return f"""
        SELECT {key_list}, __ts, __avail, __seq, {", ".join(f"__v{i}" for i in range(len(view.aggregations)))}
        FROM ({events_sql(source, info, keys, values)}){bounded}
    """


def last_change_sql(view: FeatureViewSpec, events: str) -> str:
    """SQL for the last instant any aggregate of the view can change: an event becoming visible or leaving
    its longest window."""
    longest = max(to_us(w) for a in view.aggregations for w in a.windows)
    return f"SELECT greatest(max(__avail), max(__ts) + {longest}) FROM {events}"


def aggregates_at_sql(view: FeatureViewSpec, keys: list[str], events: str, requests: str) -> str:
    """SQL: for each distinct ``(keys, __t)`` of ``requests`` (``__t`` in epoch µs), ``__feature_ts`` (the
    greatest event time visible at ``__t``, null when none is) and every aggregate of the view at ``__t``.

    ``events`` is a relation of :func:`view_events_sql`'s rows."""
    key_list = ", ".join(quote(k) for k in keys)
    values = [f"__v{i}" for i in range(len(view.aggregations))]
    names = view.aggregates()
    windows = sorted({to_us(window) for *_, window, _ in names})
    frames = ", ".join(f"w{w} AS (PARTITION BY {key_list} ORDER BY __k RANGE BETWEEN ({w}::HUGEINT * {_SLOT} - 1) PRECEDING AND CURRENT ROW)" for w in windows)
    windowed = ", ".join(_WINDOW[func].format(v=f"__v{i}", w=f"w{to_us(window)}") + f" AS {quote(name)}" for i, func, window, name in names)
    joined = ", ".join(
        _JOINED[func].format(v=f"e.__v{i}", w=f"WHERE e.__ts > d.__t - {to_us(window)}") + f" AS {quote(name)}" for i, func, window, name in names
    )
    on_keys = " AND ".join(f"e.{quote(k)} = d.{quote(k)}" for k in keys)
    d_keys = ", ".join(f"d.{quote(k)}" for k in keys)
    return f"""
        WITH requests AS (SELECT DISTINCT {key_list}, __t FROM {requests}),
        stream AS (
            SELECT {key_list}, __ts AS __t, __avail, {", ".join(values)}, false AS __request,
                   __ts::HUGEINT * {_SLOT} + __seq AS __k
            FROM {events}
            UNION ALL BY NAME
            SELECT {key_list}, __t, true AS __request, __t::HUGEINT * {_SLOT} + {_SLOT} - 1 AS __k FROM requests
        ),
        swept AS (
            SELECT {key_list}, __t, __request,
                   max(__avail) OVER so_far AS __pending_until,
                   max(CASE WHEN NOT __request THEN __t END) OVER so_far AS __feature_ts,
                   {windowed}
            FROM stream
            WINDOW so_far AS (PARTITION BY {key_list} ORDER BY __k ROWS UNBOUNDED PRECEDING), {frames}
        ),
        pending AS (SELECT {key_list}, __t FROM swept WHERE __request AND __pending_until > __t)
        SELECT * EXCLUDE (__request, __pending_until) FROM swept WHERE __request AND NOT coalesce(__pending_until > __t, false)
        UNION ALL BY NAME
        SELECT {d_keys}, d.__t, max(e.__ts) AS __feature_ts, {joined}
        FROM pending d LEFT JOIN {events} e ON {on_keys} AND e.__avail <= d.__t
        GROUP BY ALL
    """
