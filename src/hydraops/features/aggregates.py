"""Aggregation views in DuckDB SQL: the view's events, and its aggregates computed at requested instants.

The offline store keeps an aggregation view as its *events* (one row per source row: the join keys,
``__ts``, ``__avail`` (visible from), ``__seq`` (source order) and ``__v<i>`` (the value aggregation ``i``
counts, null where its ``where`` is not true)), and in its manifest what planning a read needs
(:class:`~hydraops.features.events.EventsSummary`: the lateness bound, the time span, how sums are summed). Aggregates are computed where
a consumer asks for them — the label instants of a training table, the rows of a scoring input, the
instant of an online push — never at every change point.

How (docs/concepts/feature-store.md states the values this must give). ``late_us`` (L) is a lateness
bound chosen at materialization: the 99th percentile of ``__avail − __ts``; rows later than that are
*very late*. At a request instant t, the rows a window (t − w, t] counts split in three:

* on-time rows stamped in (t − w, t − L]: all visible at t (created by ts + L ≤ t). One sort of events
  and requests together per entity serves every window as a ``RANGE`` frame over it: time near
  O((events + requests) log), memory bounded by DuckDB's sort;
* on-time rows stamped in (t − L, t] and very late rows stamped in (t − w, t]: joined to each request
  directly (through time buckets, so DuckDB hash-joins), visibility checked row by row: a few rows each;
* the parts are combined exactly (sums and counts add, min/max compare, std by Chan's formula).

Sparse events (a few per entity in the longest window: :func:`choose_direct`) skip the sort: every row a
window counts is joined to each request directly, as the late rows are.

The feature timestamp (latest visible event) matters within the TTL: when every window is joined directly
and the TTL is at most the longest window, it is the newest joined row (the join reaching back to
t − longest inclusive), an older one only telling that some row is visible (``__seen``: the entity's first
visible-from ≤ t); otherwise an ASOF lookup of the running maximum of event times in visible-from order. Sort keys are unique, and the joined rows' sums are exact (integers,
decimals, and floats scaled by a power of two to integers when the column's range of magnitudes allows:
:func:`~hydraops.features.events.summarize`) or run over their values in ascending order, so the same data gives the same bits on
every build, whatever order the join gives the rows in.
"""

from __future__ import annotations

from hydraops.config.schemas import AggFunc, FeatureViewSpec
from hydraops.features.repo import to_us
from hydraops.features.sources import quote

#: Sort key of a row: event time in the high 64 bits, source order (events) or 2^64 − 1 (requests) below.
_SLOT = "18446744073709551616::HUGEINT"
#: Added to instants before bucketing them, so integer division rounds down for instants before 1970 too.
_SHIFT = 2**62
#: Events per entity in the longest window, on average, up to which requests are joined to their rows
#: directly rather than sorted with every event (:func:`choose_direct`). Measured in CPU time: the direct join
#: 1.7× cheaper at ~15 (churn), the RANGE frames 3× cheaper at ~64 (3 airports × 10,000 departures).
DIRECT_EVENTS = 30
#: The partial statistics each function needs, per part (window frame or joined rows).
_NEEDS = {
    AggFunc.sum: ("s",),
    AggFunc.count: ("c",),
    AggFunc.mean: ("s", "c"),
    AggFunc.min: ("mn",),
    AggFunc.max: ("mx",),
    AggFunc.std: ("c", "m", "v"),
}
_WINDOWED = {"s": "sum({v})", "c": "count({v})", "mn": "min({v})", "mx": "max({v})", "m": "avg({v})", "v": "var_samp({v})"}
#: The joined part's statistics over the rows ``{f}`` selects. Floating-point ones run over the values in
#: ascending order (the same bits whatever order the join gives them in; cheaper than ``ORDER BY`` inside
#: the aggregate, which sorts each group once per statistic).
_JOINED = {
    "s": "list_sum(list_sort(list({v}) FILTER ({f})))",
    "c": "count({v}) FILTER ({f})",
    "mn": "min({v}) FILTER ({f})",
    "mx": "max({v}) FILTER ({f})",
    "m": "list_avg(list_sort(list({v}) FILTER ({f})))",
    "v": "list_var_samp(list_sort(list({v}) FILTER ({f})))",
}


def choose_direct(view: FeatureViewSpec, rows: int, entities: int, span_us: list[int] | None) -> bool:
    """Whether each request is joined to its windows' rows directly (:func:`aggregates_at_sql` ``direct``): when an
    entity has at most ``DIRECT_EVENTS`` events in the longest window on average (``span_us``: first and last event
    time), cheaper than sorting every event with the requests for the RANGE frames."""
    if not rows or not entities or span_us is None:
        return True
    first, last = span_us
    longest = max(to_us(w) for a in view.aggregations for w in a.windows)
    return rows / entities * min(1.0, longest / max(last - first, 1)) <= DIRECT_EVENTS


def aggregates_at_sql(
    view: FeatureViewSpec,
    keys: list[str],
    events: str,
    requests: str,
    late_us: int,
    *,
    direct: bool = False,
    scales: dict[int, int | str | None] | None = None,
    ttl_us: int | None = None,
) -> str:
    """SQL: for each distinct ``(keys, __t)`` of ``requests`` (``__t`` in epoch µs), ``__seen`` (some event
    is visible at ``__t``), ``__feature_ts`` (the greatest event time visible at ``__t``; null when none is,
    and may be null too when it is older than ``ttl_us`` and ``direct``) and every aggregate at ``__t``.

    ``events`` is a relation of stored events, ``late_us`` their lateness bound (:class:`~hydraops.features.events.EventsSummary`).
    ``direct`` (sparse events, see :func:`choose_direct`): every window's rows are joined to each request,
    no RANGE frame. ``scales`` (its summary): how the joined rows of each aggregation are summed
    (ascending order when not given)."""
    key_list = ", ".join(quote(k) for k in keys)
    names = view.aggregates()
    windows = sorted({to_us(window) for *_, window, _ in names})
    in_window = direct and ttl_us is not None and ttl_us <= windows[-1]  # the feature timestamp from the joined rows
    reach = windows[-1] + 1 if in_window else windows[-1]  # (t − longest, t], or [t − longest, t] for the timestamp
    if direct:
        late_us = reach  # as if every row could be late: all joined
    stats = sorted({(i, to_us(window), stat) for i, func, window, _ in names for stat in _NEEDS[func]})
    framed = [(i, w, stat) for i, w, stat in stats if w > late_us]  # windows longer than the lateness bound
    values = [f"__v{i}" for i in range(len(view.aggregations))]
    on = " AND ".join(f"r.{quote(k)} = {{a}}.{quote(k)}" for k in keys)
    scales = scales or {}
    joined = ", ".join(f"{_joined_stat(stat, i, f'WHERE e.__ts > e.__t - {w}', scales.get(i))} AS __j_{i}_{w}_{stat}" for i, w, stat in stats)
    selected = ", ".join(_combined(func, i, to_us(window), framed=to_us(window) > late_us) + f" AS {quote(name)}" for i, func, window, name in names)
    with_framed = f"framed AS ({_framed_sql(keys, events, values, framed, late_us)})," if framed else ""
    if in_window:
        latest = "j.__latest AS __feature_ts, coalesce(l.__first <= r.__t, false) AS __seen"
        lookup = f"LEFT JOIN (SELECT {key_list}, min(__avail) AS __first FROM {events} GROUP BY ALL) l ON {on.format(a='l')}"
    else:
        latest = "l.__latest AS __feature_ts, l.__latest IS NOT NULL AS __seen"
        running = f"max(__ts) OVER (PARTITION BY {key_list} ORDER BY __avail RANGE UNBOUNDED PRECEDING) AS __latest"
        lookup = f"ASOF LEFT JOIN (SELECT {key_list}, __avail, {running} FROM {events}) l ON {on.format(a='l')} AND r.__t >= l.__avail"
    return f"""
        WITH requests AS (SELECT DISTINCT {key_list}, __t FROM {requests}),
        {with_framed}
        joined AS (SELECT {key_list}, __t, {joined}, max(e.__ts) AS __latest FROM ({_joined_sql(keys, events, values, min(late_us, reach), reach)}) e GROUP BY ALL)
        SELECT {", ".join(f"r.{quote(k)}" for k in keys)}, r.__t, {latest}, {selected}
        FROM requests r
        {f"LEFT JOIN framed o ON {on.format(a='o')} AND o.__t = r.__t" if framed else ""}
        LEFT JOIN joined j ON {on.format(a="j")} AND j.__t = r.__t
        {lookup}
    """


def _joined_stat(stat: str, i: int, rows: str, scale: int | str | None) -> str:
    """SQL of a joined part's statistic over the ``rows`` of value ``i``; sums exact where ``scale`` allows."""
    if stat == "s" and scale == "int":
        return f"sum(e.__v{i}) FILTER ({rows})"
    if stat == "s" and scale is not None:
        return f"(sum((e.__v{i} * (2.0::DOUBLE ** {scale}))::HUGEINT) FILTER ({rows}))::DOUBLE / (2.0::DOUBLE ** {scale})"
    return _JOINED[stat].format(v=f"e.__v{i}", f=rows)


def _framed_sql(keys: list[str], events: str, values: list[str], framed: list[tuple[int, int, str]], late_us: int) -> str:
    """SQL: per request, each framed statistic (``__o_<i>_<w>_<stat>``) over the on-time rows stamped in
    (t − w, t − L]: events and requests in one sort, a RANGE frame per window."""
    key_list = ", ".join(quote(k) for k in keys)
    end = "CURRENT ROW" if late_us == 0 else f"({late_us}::HUGEINT * {_SLOT}) PRECEDING"
    frames = ", ".join(
        f"f{w} AS (PARTITION BY {key_list} ORDER BY __k RANGE BETWEEN ({w}::HUGEINT * {_SLOT} - 1) PRECEDING AND {end})"
        for w in sorted({w for _, w, _ in framed})
    )
    columns = ", ".join(f"{_WINDOWED[stat].format(v=f'__v{i}')} OVER f{w} AS __o_{i}_{w}_{stat}" for i, w, stat in framed)
    return f"""
        SELECT * EXCLUDE (__request) FROM (
            SELECT {key_list}, __t, __request, {columns}
            FROM (
                SELECT {key_list}, __ts AS __t, {", ".join(values)}, false AS __request, __ts::HUGEINT * {_SLOT} + __seq AS __k
                FROM {events} WHERE __avail - __ts <= {late_us}
                UNION ALL BY NAME
                SELECT {key_list}, __t, true AS __request, __t::HUGEINT * {_SLOT} + {_SLOT} - 1 AS __k FROM requests
            )
            WINDOW {frames}
        ) WHERE __request
    """


def _joined_sql(keys: list[str], events: str, values: list[str], recent: int, longest: int) -> str:
    """SQL: (request keys, ``__t``, and an event's ``__ts``, ``__seq``, values) for each visible event a
    request takes directly: on-time rows stamped in (t − recent, t], very late rows in (t − longest, t].
    Buckets of time as wide as the span make it a hash join on (keys, bucket): a request meets two."""
    key_list = ", ".join(quote(k) for k in keys)
    on = " AND ".join(f"e.{quote(k)} = r.{quote(k)}" for k in keys)
    columns = ", ".join(f"e.{v}" for v in values)
    selects = []
    parts = [(None, longest)] if recent >= longest else [(False, recent), (True, longest)]  # None: every row
    for late, span in parts:
        if span <= 0:
            continue
        which = "" if late is None else f"WHERE __avail - __ts {'>' if late else '<='} {recent}"
        selects.append(f"""
            SELECT {", ".join(f"r.{quote(k)}" for k in keys)}, r.__t, e.__ts, e.__seq, {columns} FROM
                (SELECT {key_list}, __t, unnest([(__t + {_SHIFT}) // {span}, (__t + {_SHIFT}) // {span} - 1]) AS __b FROM requests) r
            JOIN (SELECT *, (__ts + {_SHIFT}) // {span} AS __b FROM {events} {which}) e
              ON {on} AND e.__b = r.__b
            WHERE e.__ts > r.__t - {span} AND e.__ts <= r.__t AND e.__avail <= r.__t
        """)
    return " UNION ALL ".join(selects)


def _combined(func: AggFunc, i: int, w: int, *, framed: bool) -> str:
    """The aggregate from its framed part (``o``, when the window is longer than the lateness bound) and
    its joined part (``j``)."""

    def stat(name: str) -> tuple[str, str]:
        return (f"o.__o_{i}_{w}_{name}" if framed else "NULL", f"j.__j_{i}_{w}_{name}")

    def total(name: str) -> str:  # a sum or count over both parts; 0 over no row
        (o, j) = stat(name)
        return f"(coalesce({o}, 0) + coalesce({j}, 0))" if framed else f"coalesce({j}, 0)"

    (oc, jc) = stat("c")
    count = total("c")
    if func is AggFunc.count:
        return count
    if func is AggFunc.sum:
        return total("s")
    if func in (AggFunc.min, AggFunc.max):
        (o, j) = stat("mn" if func is AggFunc.min else "mx")
        return f"{'least' if func is AggFunc.min else 'greatest'}({o}, {j})" if framed else j
    if func is AggFunc.mean:
        return f"CASE WHEN {count} > 0 THEN {total('s')}::DOUBLE / {count} END"
    (om, jm), (ov, jv) = stat("m"), stat("v")
    na, nb = f"coalesce({oc}, 0)", f"coalesce({jc}, 0)"
    m2 = f"(coalesce({ov}, 0) * greatest({na} - 1, 0) + coalesce({jv}, 0) * greatest({nb} - 1, 0))"
    delta = f"(coalesce({jm}, 0) - coalesce({om}, 0))"
    return f"CASE WHEN {count} > 1 THEN sqrt(({m2} + {delta} * {delta} * {na} * {nb} / {count}) / ({count} - 1)) END"
